// parse.mjs reads cityhub's DCAT documents with real RDF parsers: the
// JSON-LD ones with jsonld.js (expand and toRDF in safe mode, which throw
// on anything they would have to drop), the Turtle ones with N3.js. It
// checks each is served as UTF-8 with its media type and holds triples,
// and that a document served in both formats (the same URL but for .jsonld
// and .ttl) holds the same triples: both are canonicalized (RDFC-1.0, so
// blank nodes compare too) and compared line by line; the Hydra page
// links, which point at their own format, are compared with the format
// left out.
//
//   node parse.mjs [--quads] [--title IRI TEXT]... URL...
//
// --title: every document describing IRI must give it dct:title TEXT@zh,
// and at least one must describe it. --quads: print every quad.
// Prints a JSON report on stdout; exits 1 on the first failure.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = process.env.CITYHUB_NODE_MODULES || path.resolve(here, '../../.ci/node/node_modules');
const require = createRequire(path.join(path.dirname(modules), 'package.json'));
const jsonld = require('jsonld');
const N3 = require('n3');
const { namedNode, blankNode, literal, quad, defaultGraph } = N3.DataFactory;

const DCT_TITLE = 'http://purl.org/dc/terms/title';

let printQuads = false;
const titles = [];
const urls = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--quads') printQuads = true;
  else if (args[i] === '--title') { titles.push({ iri: args[i + 1], text: args[i + 2], seen: 0 }); i += 2; }
  else urls.push(args[i]);
}
if (urls.length === 0) {
  console.error('usage: node parse.mjs [--quads] [--title IRI TEXT]... URL...');
  process.exit(2);
}

function fail(msg) {
  console.error('parse.mjs: ' + msg);
  process.exit(1);
}

// Documents must be self-contained: nothing is fetched while parsing.
const documentLoader = async (url) => { throw new Error('remote context fetched: ' + url); };

// The page links of a catalog name their own format.
const sameFormat = (iri) => iri.replace(/\/catalog\.(ttl|jsonld)(?=[?#]|$)/, '/catalog.*');

// term turns a jsonld.js or N3.js term into an N3.js one.
function term(t) {
  switch (t.termType) {
    case 'NamedNode': return namedNode(sameFormat(t.value));
    case 'BlankNode': return blankNode(t.value.replace(/^_:/, ''));
    case 'Literal': return literal(t.value, t.language || namedNode(t.datatype.value));
    case 'DefaultGraph': return defaultGraph();
  }
  throw new Error('unexpected term ' + JSON.stringify(t));
}

async function parse(url) {
  const res = await fetch(url);
  if (res.status !== 200) fail(`${url}: status ${res.status}`);
  const type = res.headers.get('content-type') || '';
  if (!/;\s*charset=utf-8$/i.test(type)) fail(`${url}: content type ${type} names no UTF-8 charset`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  let format, raw;
  if (type.startsWith('application/ld+json')) {
    format = 'jsonld';
    const doc = JSON.parse(text);
    try {
      const expanded = await jsonld.expand(doc, { safe: true, documentLoader });
      if (!Array.isArray(expanded) || expanded.length === 0) fail(`${url}: expands to nothing`);
      raw = await jsonld.toRDF(doc, { safe: true, documentLoader });
    } catch (e) {
      fail(`${url}: JSON-LD: ${e.message} ${e.details ? JSON.stringify(e.details).slice(0, 500) : ''}`);
    }
  } else if (type.startsWith('text/turtle')) {
    format = 'turtle';
    try {
      raw = new N3.Parser({ format: 'text/turtle', baseIRI: url }).parse(text);
    } catch (e) {
      fail(`${url}: Turtle: ${e.message}`);
    }
  } else {
    fail(`${url}: unexpected content type ${type}`);
  }
  if (raw.length === 0) fail(`${url}: no triples`);
  const quads = raw.map((q) => quad(term(q.subject), term(q.predicate), term(q.object), defaultGraph()));
  const nquads = new N3.Writer({ format: 'N-Quads' }).quadsToString(quads);
  const canonical = await jsonld.canonize(nquads, { inputFormat: 'application/n-quads', format: 'application/n-quads' });
  const subjects = new Set(raw.filter((q) => q.subject.termType === 'NamedNode').map((q) => q.subject.value));
  for (const t of titles) {
    if (!subjects.has(t.iri)) continue;
    t.seen++;
    const has = raw.some((q) => q.subject.value === t.iri && q.predicate.value === DCT_TITLE &&
      q.object.termType === 'Literal' && q.object.value === t.text && q.object.language === 'zh');
    if (!has) fail(`${url}: <${t.iri}> has no dct:title ${JSON.stringify(t.text)}@zh`);
  }
  const out = { url, format, triples: raw.length, canonical: canonical.split('\n').filter(Boolean).length };
  if (printQuads) {
    out.quads = raw.map((q) => [q.subject.value, q.predicate.value, q.object.termType, q.object.value,
      q.object.language || '', q.object.termType === 'Literal' ? q.object.datatype.value : '']);
  }
  return { out, canonical };
}

const results = [];
const byDocument = new Map(); // URL with the format left out → canonical N-Quads and where from
let pairs = 0;
for (const url of urls) {
  const { out, canonical } = await parse(url);
  results.push(out);
  const key = url.replace(/\.(ttl|jsonld)(?=[?#]|$)/, '.*');
  const other = byDocument.get(key);
  if (!other) {
    byDocument.set(key, { url, canonical });
    continue;
  }
  pairs++;
  if (other.canonical !== canonical) {
    const a = new Set(other.canonical.split('\n'));
    const b = new Set(canonical.split('\n'));
    const onlyA = [...a].filter((l) => !b.has(l)).slice(0, 5);
    const onlyB = [...b].filter((l) => !a.has(l)).slice(0, 5);
    fail(`${other.url} and ${url} differ:\n only in the first:\n  ${onlyA.join('\n  ')}\n only in the second:\n  ${onlyB.join('\n  ')}`);
  }
}
for (const t of titles) {
  if (t.seen === 0) fail(`no document describes <${t.iri}>`);
}
console.log(JSON.stringify({ results, pairs }));
