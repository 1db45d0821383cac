import assert from "node:assert/strict";
import type { Graph } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { encodeModel } from "./encode.ts";
import { loadModelFromBytes, loadModelFromUrl } from "./load.ts";
import { type Manifest, stringifyManifest } from "./manifest.ts";

/** Gemm(x, w) -> y with 1000 f32 weights: a 4096-byte weights file. */
function graph(): Graph {
  return {
    name: "fc",
    inputs: [{ name: "x", dtype: "f32", shape: ["N", 100], layout: "NC" }],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", 10], layout: "NC" }],
    nodes: [{ name: "fc", op: "Gemm", inputs: ["x", "w"], outputs: ["y"], attrs: { transB: 1 } }],
    initializers: new Map([["w", randomTensor(seededRandom(2), "f32", [10, 100])]]),
  };
}

async function encoded(): Promise<
  { manifest: Manifest; weights: Uint8Array<ArrayBuffer>; json: string }
> {
  const { manifest, weights } = await encodeModel(graph(), {
    name: "fc",
    provenance: {
      source: "fc.onnx",
      sha256: "12".repeat(32),
      sourceFormat: "onnx",
      converter: "t",
    },
  });
  return { manifest, weights, json: stringifyManifest(manifest) };
}

const BASE = "https://models.example/resnet/v1/";

/** A ReadableStream of `chunks` that counts pulls and notes cancellation. */
function trackedStream(chunks: Uint8Array[]) {
  const state = { pulls: 0, cancelled: false };
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulls++;
      if (next < chunks.length) controller.enqueue(chunks[next++]);
      else controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

/** A fetch serving `routes` (URL -> response factory) and recording the URLs it was asked. */
function fakeFetch(routes: Record<string, () => Response>) {
  const requested: string[] = [];
  const fetchFn = (input: string | URL | Request): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    requested.push(url);
    const route = routes[url];
    return Promise.resolve(route ? route() : new Response("no such file", { status: 404 }));
  };
  return { fetch: fetchFn as typeof fetch, requested };
}

Deno.test("loadModelFromBytes takes the manifest as text or UTF-8 bytes", async () => {
  const { weights, json } = await encoded();
  const fromText = await loadModelFromBytes(json, weights);
  const fromBytes = await loadModelFromBytes(new TextEncoder().encode(json), weights);
  assert.deepStrictEqual(fromText.graph, graph());
  assert.deepStrictEqual(fromBytes.graph, graph());
});

Deno.test("loadModelFromBytes rejects random bytes as a manifest", async () => {
  const rand = seededRandom(4);
  const noise = Uint8Array.from({ length: 200 }, () => Math.floor(rand() * 256));
  const { weights } = await encoded();
  await assert.rejects(loadModelFromBytes(noise, weights), {
    name: "ManifestError",
    message: "Manifest is not UTF-8 text; is this really a manifest.json?",
  });
});

Deno.test("weights are fetched relative to the manifest URL", async () => {
  const { weights, json } = await encoded();
  const { fetch, requested } = fakeFetch({
    [`${BASE}manifest.json`]: () => new Response(json),
    [`${BASE}weights.bin`]: () => new Response(weights),
  });
  const loaded = await loadModelFromUrl(new URL("manifest.json", BASE), { fetch });
  assert.deepStrictEqual(loaded.graph, graph());
  assert.deepStrictEqual(requested, [`${BASE}manifest.json`, `${BASE}weights.bin`]);
});

Deno.test("a streamed body in many small chunks loads", async () => {
  const { weights, json } = await encoded();
  const chunks = Array.from({ length: 64 }, (_, i) => weights.subarray(i * 64, (i + 1) * 64));
  const { fetch } = fakeFetch({
    [`${BASE}manifest.json`]: () => new Response(json),
    [`${BASE}weights.bin`]: () => new Response(trackedStream(chunks).stream),
  });
  const loaded = await loadModelFromUrl(`${BASE}manifest.json`, { fetch });
  assert.deepStrictEqual(loaded.graph, graph());
});

Deno.test("a Content-Length that disagrees with the manifest fails before the body is read", async () => {
  const { weights, json } = await encoded();
  const body = trackedStream([weights]);
  const { fetch } = fakeFetch({
    [`${BASE}manifest.json`]: () => new Response(json),
    [`${BASE}weights.bin`]: () =>
      new Response(body.stream, { headers: { "content-length": "1000" } }),
  });
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch }), {
    name: "ManifestError",
    message: `weights.bin is truncated: 1000 bytes (Content-Length of ${BASE}weights.bin), ` +
      "manifest says 4096",
  });
  assert.equal(body.state.pulls, 0);
  assert.ok(body.state.cancelled);
});

Deno.test("Content-Length of an encoded body is not compared", async () => {
  const { weights, json } = await encoded();
  const { fetch } = fakeFetch({
    [`${BASE}manifest.json`]: () => new Response(json),
    [`${BASE}weights.bin`]: () =>
      new Response(weights, { headers: { "content-length": "17", "content-encoding": "gzip" } }),
  });
  const loaded = await loadModelFromUrl(`${BASE}manifest.json`, { fetch });
  assert.deepStrictEqual(loaded.graph, graph());
});

Deno.test("weights over maxWeightBytes are refused without fetching them", async () => {
  const { json } = await encoded();
  const { fetch, requested } = fakeFetch({ [`${BASE}manifest.json`]: () => new Response(json) });
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch, maxWeightBytes: 4095 }), {
    name: "ManifestError",
    message: "Manifest says weights.bin is 4096 bytes, more than maxWeightBytes 4095",
  });
  assert.deepStrictEqual(requested, [`${BASE}manifest.json`]);
});

Deno.test("an endless body is cut off once it exceeds the manifest's length", async () => {
  const { json } = await encoded();
  const state = { pulls: 0, cancelled: false };
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulls++;
      controller.enqueue(new Uint8Array(1000));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  const { fetch } = fakeFetch({
    [`${BASE}manifest.json`]: () => new Response(json),
    [`${BASE}weights.bin`]: () => new Response(endless),
  });
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch }), {
    name: "ManifestError",
    message: `weights.bin is too long: 5000 bytes (or more, from ${BASE}weights.bin), manifest ` +
      "says 4096; it does not belong to this manifest",
  });
  assert.equal(state.pulls, 5);
  assert.ok(state.cancelled);
});

Deno.test("an oversized manifest is cut off at the limit", async () => {
  const chunk = new Uint8Array(2 ** 20).fill(0x20);
  const { stream, state } = trackedStream(Array(20).fill(chunk));
  const { fetch, requested } = fakeFetch({ [`${BASE}manifest.json`]: () => new Response(stream) });
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch }), {
    name: "ManifestError",
    message: `Manifest ${BASE}manifest.json is over 16777216 bytes (17825792 read)`,
  });
  assert.equal(state.pulls, 17);
  assert.ok(state.cancelled);
  assert.deepStrictEqual(requested, [`${BASE}manifest.json`]);
});

Deno.test("a body that ends early is reported as truncated", async () => {
  const { weights, json } = await encoded();
  const { fetch } = fakeFetch({
    [`${BASE}manifest.json`]: () => new Response(json),
    [`${BASE}weights.bin`]: () => new Response(trackedStream([weights.subarray(0, 3000)]).stream),
  });
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch }), {
    name: "ManifestError",
    message: "weights.bin is truncated: 3000 bytes, manifest says 4096",
  });
});

Deno.test("HTTP errors and relative manifest URLs", async () => {
  const { json } = await encoded();
  const { fetch } = fakeFetch({ [`${BASE}manifest.json`]: () => new Response(json) });
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch }), {
    message: `GET ${BASE}weights.bin failed: HTTP 404`,
  });
  await assert.rejects(loadModelFromUrl("models/manifest.json", { fetch }), {
    name: "TypeError",
    message: 'Manifest URL "models/manifest.json" is not an absolute URL',
  });
  const failing = (() => Promise.reject(new TypeError("connection refused"))) as typeof fetch;
  await assert.rejects(loadModelFromUrl(`${BASE}manifest.json`, { fetch: failing }), {
    message: `GET ${BASE}manifest.json failed: connection refused`,
  });
});

Deno.test("loadModelFromUrl over a real HTTP server on 127.0.0.1", async () => {
  const { weights, json } = await encoded();
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    served.push(path);
    if (path === "/m/fc/manifest.json") return new Response(json);
    if (path === "/m/fc/weights.bin") return new Response(weights);
    return new Response("not found", { status: 404 });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/m/fc/manifest.json`;
    const loaded = await loadModelFromUrl(url);
    assert.deepStrictEqual(loaded.graph, graph());
    assert.deepStrictEqual(served, ["/m/fc/manifest.json", "/m/fc/weights.bin"]);
  } finally {
    await server.shutdown();
  }
});
