/**
 * The page: one HTML file that is both the live page (served by src/ui, fed
 * by server-sent events) and report.html (the finished model embedded, opened
 * from disk). uPlot and the page's code are inlined; the CSP allows inline
 * script and style only, and in the report no connection at all, so nothing is
 * fetched. The model is embedded as JSON (`<` escaped), never as markup.
 */
import type { PageModel } from './page-model.js';
import {
  applyEvent, capacityCharts, currentStep, escapeText, formatValue, freshnessCharts, pageMain, panelsTableHtml, serverTimeCharts, statusLine, stepSlots, timeCharts, timeline, trialsTableHtml,
} from './page-script.js';
import { REPORT_CSS } from './html-parts.js';
import { uplotAsset } from './uplot-asset.js';
import { thinModel } from './thin.js';

/** The functions the page defines, by their source (each self-contained; see page-script.ts). */
const PAGE_FUNCTIONS = [thinModel, applyEvent, formatValue, escapeText, currentStep, timeline, stepSlots, timeCharts, serverTimeCharts, freshnessCharts, capacityCharts, trialsTableHtml, panelsTableHtml, statusLine, pageMain];

const PAGE_CSS = `
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 16px; }
#charts figure h3 { margin: 2px 4px 6px; }
#status { margin: 6px 0; font-weight: 600; color: #0b57d0; min-height: 1.2em; }
.u-legend { font-size: 12px; }
`;

/** JSON safe inside a <script> element. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface PageOptions {
  /** Live: the event stream's URL, relative to the page (with the token when there is one). */
  readonly eventsUrl?: string;
}

/** The whole page for a model (its time series thinned to about 2,000 points each: thin.ts). */
export function pageHtml(model: PageModel, opts: PageOptions = {}): string {
  const { js, css } = uplotAsset();
  const live = opts.eventsUrl !== undefined;
  const csp = `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src ${live ? "'self'" : "'none'"}`;
  const code = PAGE_FUNCTIONS.map((f) => f.toString()).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeText(model.title)}</title>
<style>${REPORT_CSS}${css}${PAGE_CSS}</style>
</head>
<body>
<header>
<h1 id="title">${escapeText(model.title)}</h1>
<div id="verdict"></div>
<div id="lines"></div>
<div id="status"></div>
</header>
<noscript><p>The charts need JavaScript; the tables below are complete without it.</p></noscript>
<div id="trials"></div>
<div id="panels"></div>
<h2>Charts</h2>
<div id="charts"></div>
<h2>Figures</h2>
<div class="tables" id="tables">${model.tablesHtml}</div>
<details id="config"${model.configText === '' ? ' hidden' : ''}><summary>Configuration (run.json)</summary><pre id="config-text">${escapeText(model.configText)}</pre></details>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script type="application/json" id="rtbench-model">${scriptJson(thinModel(model))}</script>
<script>
${code}
pageMain(uPlot, JSON.parse(document.getElementById('rtbench-model').textContent), ${live ? scriptJson(opts.eventsUrl) : 'null'});
</script>
</body>
</html>
`;
}
