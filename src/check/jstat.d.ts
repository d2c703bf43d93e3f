/** The two functions of jstat (no bundled types) that the gate uses. */
declare module 'jstat' {
  interface JStat {
    studentt: { inv(p: number, dof: number): number };
    normal: { inv(p: number, mean: number, std: number): number };
  }
  const jStat: JStat;
  export default jStat;
}
