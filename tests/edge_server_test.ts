/**
 * The edge example (examples/edge_server.ts) over real HTTP on a random loopback port: a tiny
 * zoo-synth ResNet converted in the test, loaded once, then good and bad requests, then
 * shutdown.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHandler } from "../examples/edge_server.ts";
import { type Classifier, loadModel, type ModelBytes } from "../mod.ts";
import { conversionPasses } from "../src/graph/passes/pipelines.ts";
import { importOnnx } from "../src/onnx/import.ts";
import { parseSynset } from "../src/registry/models.ts";
import { encodeModel } from "../src/weights/encode.ts";
import { type ImagePreprocess, PREPROCESS_PRESETS } from "../src/weights/preprocess.ts";

const SHARED = fileURLToPath(new URL("../../shared/", import.meta.url));
const HAS_SHARED = await Deno.stat(SHARED).then((s) => s.isDirectory, () => false);
const MODEL = join(SHARED, "models", "zoo-synth", "resnet18-v1-7-tiny-synth.onnx");
const DOG = join(SHARED, "images", "pytorch_hub_dog.jpg");
const TABBY = join(SHARED, "images", "n02123045_tabby.JPEG");

/** The tiny models take 32x32: the zoo recipe with the same 256 -> 224 ratio (37 -> 32). */
const RECIPE_32: ImagePreprocess = {
  ...PREPROCESS_PRESETS.imagenet,
  resize: { mode: "shorter_side", size: 37, filter: "bilinear" },
  crop: { width: 32, height: 32 },
};

/** The tiny ResNet-18 converted and encoded in memory, with the recipe and ImageNet labels. */
async function convertTinyResnet(): Promise<ModelBytes> {
  const bytes = await Deno.readFile(MODEL);
  const { graph, opset, producer } = importOnnx(bytes, { name: "resnet18-tiny" });
  const synset = await Deno.readTextFile(join(SHARED, "models", "imagenet_synset.txt"));
  return await encodeModel(conversionPasses(graph), {
    name: "resnet18-tiny",
    preprocess: RECIPE_32,
    labels: parseSynset(synset),
    provenance: {
      source: "resnet18-v1-7-tiny-synth.onnx",
      sha256: "0".repeat(64),
      sourceFormat: "onnx",
      opset,
      producer,
      converter: "edge_server_test",
    },
  });
}

/** A request body that arrives in `pieces` chunks without a Content-Length header. */
function chunked(bytes: Uint8Array, pieces: number): ReadableStream<Uint8Array> {
  const size = Math.ceil(bytes.length / pieces);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

Deno.test({
  name: "edge server classifies POSTed images over HTTP and refuses bad requests (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const encoded = await convertTinyResnet();
    let loads = 0;
    const model = (async (): Promise<Classifier> => {
      loads++;
      return await loadModel(encoded, { backend: "cpu" });
    })();
    const maxBytes = 1_000_000;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      createHandler({ model, maxBytes }),
    );
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const [dog, tabby] = await Promise.all([DOG, TABBY].map((p) => Deno.readFile(p)));
    assert.ok(dog.length <= maxBytes && tabby.length <= maxBytes);
    const post = async (body: BodyInit | null, query = "", init: RequestInit = {}) => {
      const response = await fetch(base + query, { method: "POST", body, ...init });
      return { status: response.status, headers: response.headers, json: await response.json() };
    };
    try {
      const classifier = await model;
      const [expectDog, expectTabby] = await classifier.classify([dog, tabby]);

      // Requests in parallel share the one model; results equal the library's.
      const answers = await Promise.all([post(dog), post(tabby), post(dog, "?top=2")]);
      assert.equal(loads, 1);
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
      for (const { json } of answers) {
        assert.deepEqual(Object.keys(json), ["model", "backend", "top"]);
        assert.equal(json.model, "resnet18-tiny");
        assert.equal(json.backend, "cpu");
      }
      assert.deepEqual(answers[0].json.top, expectDog.top);
      assert.deepEqual(answers[1].json.top, expectTabby.top);
      assert.deepEqual(answers[2].json.top, expectDog.top.slice(0, 2));
      assert.equal(typeof answers[0].json.top[0].label, "string");

      // A body streamed without Content-Length is read the same way.
      const streamed = await post(chunked(dog, 7), "", { duplex: "half" } as RequestInit);
      assert.equal(streamed.status, 200);
      assert.deepEqual(streamed.json.top, expectDog.top);

      const truncated = dog.subarray(0, 5000);
      const notImage = new TextEncoder().encode("hello, world");
      const big = new Uint8Array(maxBytes + 1);
      const refusals: [Promise<{ status: number; json: { error: string } }>, number, RegExp][] = [
        [post(notImage), 400, /^Image data is not a JPEG or PNG image \(it starts with bytes 68/],
        [post(truncated), 400, /^Truncated JPEG: the data ends at byte 5000 /],
        [post(new Uint8Array(0)), 400, /^Request body is empty; POST the image bytes$/],
        [post(dog, "?top=0"), 400, /^top must be an integer from 1 to 9999, got "0"$/],
        [post(big), 413, /^Request body is 1000001 bytes, over the limit of 1000000$/],
        [
          post(chunked(big, 5), "", { duplex: "half" } as RequestInit),
          413,
          /^Request body is more than 1000000 bytes, over the limit of 1000000$/,
        ],
      ];
      for (const [answer, status, message] of refusals) {
        const { status: actual, json } = await answer;
        assert.equal(actual, status, json.error);
        assert.match(json.error, message);
      }
      for (const method of ["GET", "PUT", "DELETE"]) {
        const response = await fetch(base, { method });
        assert.equal(response.status, 405);
        assert.equal(response.headers.get("allow"), "POST");
        assert.match((await response.json()).error, new RegExp(`^Method ${method} is not allowed`));
      }
      assert.equal(loads, 1);
    } finally {
      await server.shutdown();
      (await model).dispose();
    }
  },
});
