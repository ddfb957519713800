// The grading half of scripts/security-scan: the MDN HTTP Observatory's
// grade of each page, and Google's CSP Evaluator's findings on the policy of
// the first page. Prints both with the goals beside them; exit status 1 if a
// goal is missed.
//
//   node scripts/security-scan.mjs PACKAGES_DIR HOST PATH... [--signed-in PATH...]
//
// PACKAGES_DIR holds node_modules/ with @mdn/mdn-http-observatory and
// csp_evaluator. HOST is scanned over http:// and https:// on the default
// ports, as the Observatory does; trust its certificate with
// NODE_EXTRA_CA_CERTS. Paths after --signed-in are fetched with the header
// `Cookie: $SCAN_COOKIE` (an environment variable, so that the session is
// never in a process list).
//
// Why not the Observatory's CLI or its exported scan(): both scan `/` only
// (scan(hostname, options) does not pass its options on), and the CLI's
// wrapper replaces NODE_EXTRA_CA_CERTS with Mozilla's bundle, so a test CA is
// never trusted and every page loses the HSTS and redirection tests for an
// invalid certificate. So each page is fetched by the package's own
// retrieve(host, { path }) and run through its own tests (ALL_TESTS) and
// grader, and scored as scan() scores (src/scanner/index.js, algorithm
// version 4). To catch a new version scoring differently, `/` is also
// graded by scan() itself, and the two must agree.
import path from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const [dir, host] = args
const split = args.indexOf('--signed-in')
const anonymous = args.slice(2, split < 0 ? undefined : split)
const signedIn = split < 0 ? [] : args.slice(split + 1)
if (!dir || !host || anonymous.length === 0) {
  console.error('usage: node scripts/security-scan.mjs PACKAGES_DIR HOST PATH... [--signed-in PATH...]')
  process.exit(2)
}
if (signedIn.length > 0 && !process.env.SCAN_COOKIE) {
  console.error('error: --signed-in needs SCAN_COOKIE')
  process.exit(2)
}

const modules = path.join(dir, 'node_modules')
const observatory = file => import(pathToFileURL(path.join(modules, '@mdn/mdn-http-observatory/src', file)).href)
const { scan } = await observatory('scanner/index.js')
const { retrieve } = await observatory('retriever/retriever.js')
const { ALL_TESTS, ALGORITHM_VERSION } = await observatory('constants.js')
const { getGradeForScore, getScoreModifier, getScoreDescription } = await observatory('grader/grader.js')
const { MINIMUM_SCORE_FOR_EXTRA_CREDIT } = await observatory('grader/charts.js')
const require = createRequire(path.join(modules, 'csp_evaluator', 'package.json'))
const { CspEvaluator } = require('./dist/evaluator.js')
const { CspParser } = require('./dist/parser.js')
const { Severity, Type } = require('./dist/finding.js')

if (ALGORITHM_VERSION !== 4) {
  console.error(`error: the Observatory's algorithm is version ${ALGORITHM_VERSION}; this script scores version 4 (see src/scanner/index.js)`)
  process.exit(2)
}

// The retriever's own Accept (STANDARD_HEADERS in its retriever.js, which
// giving headers replaces).
const ACCEPT = 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const plain = text => String(text).replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim()

// One page through the Observatory: its grade, score, tests and the answer
// the tests read (after redirects, over https when https answers).
async function grade(pathname, cookie) {
  const options = { path: pathname }
  if (cookie) options.headers = [ACCEPT, `Cookie: ${cookie}`]
  const r = await retrieve(host, options)
  if (!r.responses.auto) throw new Error('no answer over http or https')
  const { status } = r.responses.auto
  // scan() refuses these as it does.
  if (status < 200 || (status >= 400 && ![401, 403].includes(status))) {
    throw new Error(`status ${status}`)
  }
  const tests = ALL_TESTS.map(test => test(r))
  let withExtraCredit = 100
  let uncurved = 100
  for (const test of tests) {
    if (!test.result) continue
    const modifier = getScoreModifier(test.result)
    withExtraCredit += modifier
    if (modifier < 0) uncurved += modifier
  }
  // Extra credit counts only for a page that has an A without it.
  const { grade, score } = getGradeForScore(uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? withExtraCredit : uncurved)
  const history = r.session?.redirectHistory ?? []
  const route = history.map(hop => `${hop.url.pathname}${hop.url.search} ${hop.status}`).join(' -> ')
  return { grade, score, status, route, tests, headers: r.responses.auto.headers }
}

let missed = 0
const verdict = ok => {
  if (!ok) missed++
  return ok ? 'ok' : 'MISSED'
}

const pages = [
  ...anonymous.map(pathname => ({ pathname, label: pathname })),
  ...signedIn.map(pathname => ({ pathname, label: `${pathname} (signed in)`, cookie: process.env.SCAN_COOKIE })),
]
const graded = []
console.log(`MDN HTTP Observatory (algorithm ${ALGORITHM_VERSION}) on ${host}; goal: A+ (score >= 100) on each page`)
for (const page of pages) {
  let result
  try {
    result = await grade(page.pathname, page.cookie)
  } catch (error) {
    console.log(`\n${page.label}: not graded: ${error.message}: ${verdict(false)}`)
    continue
  }
  graded.push({ ...page, result })
  const passed = result.tests.filter(test => test.pass).length
  console.log(`\n${page.label}: ${result.grade}, score ${result.score}, ${passed} of ${result.tests.length} tests passed (https: ${result.route}): ${verdict(result.score >= 100)}`)
  for (const test of result.tests) {
    const modifier = test.result ? getScoreModifier(test.result) : 0
    if (test.pass && modifier >= 0) continue
    const sign = modifier > 0 ? `+${modifier}` : `${modifier}`
    console.log(`  ${test.pass ? 'passed' : 'FAILED'} ${test.constructor.name} ${sign}: ${test.result} (${plain(getScoreDescription(test.result))})`)
  }
}

// The same score from the package's own scan() for `/`, or this script's
// copy of its scoring is out of date.
const root = graded.find(page => page.pathname === '/' && !page.cookie)
if (root) {
  const own = await scan(host)
  if (own.scan.score !== root.result.score || own.scan.grade !== root.result.grade) {
    console.log(`\nerror: the Observatory's scan() grades / ${own.scan.grade}, score ${own.scan.score}; this script ${root.result.grade}, ${root.result.score}: update scripts/security-scan.mjs to its scoring`)
    missed++
  }
}

// Google's CSP Evaluator on the policy of the first page (CSP3). A header
// that holds several policies (separated by commas, or repeated) is
// evaluated policy by policy.
const first = graded[0]
if (first) {
  console.log(`\nCSP Evaluator on ${first.label}'s Content-Security-Policy; goal: no finding of severity HIGH`)
  const header = first.result.headers['content-security-policy']
  if (!header) {
    console.log(`  no Content-Security-Policy header: ${verdict(false)}`)
  } else {
    const names = Object.fromEntries(Object.entries(Severity).map(([name, value]) => [value, name]))
    let high = 0
    for (const policy of String(header).split(',').map(text => text.trim()).filter(Boolean)) {
      console.log(`  policy: ${policy}`)
      const findings = new CspEvaluator(new CspParser(policy).csp).evaluate().sort((a, b) => a.severity - b.severity)
      if (findings.length === 0) console.log('    no findings')
      for (const finding of findings) {
        if (finding.severity <= Severity.HIGH) high++
        const where = finding.value ? `${finding.directive} ${finding.value}` : finding.directive
        console.log(`    ${names[finding.severity] ?? finding.severity} ${Type[finding.type] ?? finding.type} (${where}): ${finding.description}`)
      }
    }
    console.log(`  findings of severity HIGH: ${high}: ${verdict(high === 0)}`)
  }
}

process.exitCode = missed > 0 ? 1 : 0
