# rtbench as a load-generator image: the harness only; the database it loads is
# elsewhere (give it PG* variables or --url). Used by deploy/kubernetes/.
#   docker build -t rtbench .
#   docker run --rm -e PGHOST=db.example -e PGUSER=bench -e PGPASSWORD=… -e PGDATABASE=bench rtbench run --rate 2000 --duration 60s
# Without PG* variables or --url rtbench would start a throwaway local PostgreSQL,
# which this image does not contain: it then says so in one line.

# Build: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# Run: production dependencies, the compiled CLI, its SQL and scenarios.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY sql ./sql
COPY scenarios ./scenarios
# Results go under the working directory by default (./results); a Kubernetes Job mounts a volume and passes --results-dir.
RUN mkdir /data && chown node:node /data
WORKDIR /data
USER node
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
