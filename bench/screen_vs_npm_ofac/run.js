// Runs the npm `ofac` package's search on every query of qs.json (in the work folder).
const work = process.argv[2];
const ofac = require(work + '/node_modules/ofac');
const qs = require(work + '/qs.json');
(async () => {
  const t0 = process.hrtime.bigint();
  const out = [];
  for (const q of qs) {
    const r = await ofac.search({firstName: q.firstName, lastName: q.lastName}, work + '/sdn_from_csv.xml');
    out.push(r.map(x => x.uid));
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  require('fs').writeFileSync(work + '/npm_out.json', JSON.stringify(out));
  console.log(`npm ofac: ${qs.length} queries in ${s.toFixed(1)} s`);
})();
