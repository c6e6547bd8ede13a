// Drives cityhub's CKAN API with a third-party CKAN client, the npm package
// ckanapi (DataShades/ckanapi-ts), as a developer would, and prints what it
// got as JSON for ckan/client_test.go to check.
//
//   node ckan/testdata/ckanapi_client.mjs <baseURL>
//
// The client is found at $CKANAPI_MODULE, else in the repository's
// .ci/node/node_modules (npm ci --prefix .ci/node).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const modulePath = process.env.CKANAPI_MODULE ||
  path.join(here, "..", "..", ".ci", "node", "node_modules", "ckanapi");
const require = createRequire(import.meta.url);
const CkanApi = require(modulePath);

const base = process.argv[2];
if (!base) {
  console.error("usage: node ckanapi_client.mjs <baseURL>");
  process.exit(2);
}
const portal = new CkanApi.Portal(base);

// Errors come back as CKAN's error object, which ckanapi throws.
async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return err;
  }
}

const out = {};

// package_search: free text, a filter, facets.
const search = await portal.action.package_search({
  q: "停车",
  fq: "res_format:CSV",
  rows: 5,
  "facet.field": ["organization", "res_format", "tags"],
});
out.search = {
  count: search.count,
  names: search.results.map((p) => p.name),
  facets: search.facets,
  sort: search.sort,
};

// package_show of the first result, by name.
const pkg = await portal.action.package_show({ id: search.results[0].name });
out.show = {
  id: pkg.id,
  name: pkg.name,
  title: pkg.title,
  organization: pkg.organization && pkg.organization.name,
  resources: pkg.resources.map((r) => ({ id: r.id, format: r.format, datastore_active: r.datastore_active, url: r.url })),
};

// datastore_search on the open resource, then the next page its _links
// point to (read with fetch, as a client following links does).
const open = await portal.action.package_search({ fq: "extras_open_type:unconditional res_format:CSV", q: "停车收费", rows: 1 });
const resource = open.results[0].resources[0];
const page = await portal.action.datastore_search({
  resource_id: resource.id,
  filters: { lot: "鼓楼地下停车场" },
  limit: 5,
});
const nextURL = new URL(page._links.next, base);
const next = await (await fetch(nextURL)).json();
out.datastore = {
  resource_id: resource.id,
  total: page.total,
  limit: page.limit,
  fields: page.fields.map((f) => f.id),
  records: page.records,
  next: nextURL.pathname + nextURL.search,
  next_success: next.success,
  next_ids: next.result.records.map((r) => r._id),
};

// A resource open on conditions, and a package that does not exist.
const conditional = await portal.action.package_search({ fq: "extras_open_type:conditional res_format:CSV", q: "停车违法" });
out.denied = await failure(portal.action.datastore_search({ resource_id: conditional.results[0].resources[0].id }));
out.not_found = await failure(portal.action.package_show({ id: "999-999999" }));
out.help = await portal.documentation(new CkanApi.Action("datastore_search"));

console.log(JSON.stringify(out));
