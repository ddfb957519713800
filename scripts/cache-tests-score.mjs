// Scores results of the HTTP cache test suite (http-tests/cache-tests) the
// way its result pages (cache-tests.fyi) count them: required tests only
// (`kind` absent or "required"), each passing only when every test it
// `depends_on` passes too, out of the required tests a file has results for.
// The suite's own `determineTestResult` decides each test, so the count
// cannot drift from the site's.
//
//   node scripts/cache-tests-score.mjs SUITE_DIR RESULTS.json...
//
// SUITE_DIR is the npm package (lib/, tests/ at its root) or a checkout of
// the suite's repository (test-engine/lib/). Prints one "name passed total"
// line per file, best first; with --failing, the required tests the first
// file fails, one per line ("id kind: reason").
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const failing = args.includes('--failing')
const [suite, ...files] = args.filter(arg => arg !== '--failing')
const load = file => import(pathToFileURL(path.join(suite, file)).href)
const checkout = fs.existsSync(path.join(suite, 'test-engine'))

const tests = (await load('tests/index.mjs')).default
if (!checkout) {
  // The npm package's site adds this suite to the index's (index.html).
  tests.push((await load('tests/surrogate-control.mjs')).default)
}
const { determineTestResult } = await load(checkout ? 'test-engine/lib/results.mjs' : 'lib/display.mjs')
const PASS = '✅'
const required = test => test.kind === undefined || test.kind === 'required'

function score (results) {
  const rows = []
  for (const suite of tests) {
    for (const test of suite.tests) {
      if (!required(test) || results[test.id] === undefined) continue
      const shown = determineTestResult(tests, test.id, results)
      rows.push({ id: test.id, pass: shown[2] === PASS, shown: shown[2], result: results[test.id] })
    }
  }
  return rows
}

const scored = files.map(file => {
  const rows = score(JSON.parse(fs.readFileSync(file, 'utf8')))
  return { name: path.basename(file, '.json'), passed: rows.filter(r => r.pass).length, total: rows.length, rows }
})
if (failing) {
  for (const row of scored[0].rows.filter(r => !r.pass)) {
    const why = Array.isArray(row.result) ? row.result.slice(0, 2).join(': ') : String(row.result)
    console.log(`${row.id}\t${row.shown === '⚪️' ? 'dependency failed' : why}`)
  }
} else {
  for (const { name, passed, total } of scored.sort((a, b) => b.passed - a.passed)) {
    console.log(`${name}\t${passed}\t${total}`)
  }
}
