import assert from "node:assert/strict";
import { join } from "node:path";
import type { Graph } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { encodeModel } from "./encode.ts";
import { loadModelFromDir, writeModelDir } from "./load_file.ts";
import { stringifyManifest } from "./manifest.ts";
import { PREPROCESS_PRESETS } from "./preprocess.ts";

/** An int8 TFLite-style model: per-axis i8 weights, i32 bias, quantized NHWC u8 input. */
function graph(): Graph {
  const rand = seededRandom(8);
  const w = randomTensor(rand, "i8", [3, 3, 3, 3], -127, 128);
  w.quant = { scale: [0.02, 0.03, 0.01], zeroPoint: [0, 0, 0], axis: 0 };
  const b = randomTensor(rand, "i32", [3], -5000, 5000);
  b.quant = { scale: [0.0002, 0.0003, 0.0001], zeroPoint: [0, 0, 0], axis: 0 };
  return {
    name: "q",
    inputs: [{
      name: "x",
      dtype: "u8",
      shape: [1, 224, 224, 3],
      layout: "NHWC",
      quant: { scale: [1], zeroPoint: [0] },
    }],
    outputs: [{ name: "y", dtype: "u8", shape: [1, 3, 224, 224] }],
    nodes: [{ name: "c", op: "QConv", inputs: ["x", "w", "b"], outputs: ["y"], attrs: {} }],
    initializers: new Map([["w", w], ["b", b]]),
  };
}

async function encoded() {
  return await encodeModel(graph(), {
    name: "q",
    preprocess: PREPROCESS_PRESETS.stm_uint8,
    labels: ["a", "b", "c"],
    provenance: {
      source: "q.tflite",
      sha256: "34".repeat(32),
      sourceFormat: "tflite",
      converter: "t",
    },
  });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "resin_weights_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeModelDir then loadModelFromDir round-trips the model", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "nested", "model");
    const model = await encoded();
    await writeModelDir(dir, model);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepStrictEqual(names.sort(), ["manifest.json", "weights.bin"]);
    assert.equal(
      await Deno.readTextFile(join(dir, "manifest.json")),
      stringifyManifest(model.manifest),
    );
    assert.deepStrictEqual(await Deno.readFile(join(dir, "weights.bin")), model.weights);
    const loaded = await loadModelFromDir(dir);
    assert.deepStrictEqual(loaded.graph, graph());
    assert.deepStrictEqual(loaded.manifest, model.manifest);
  });
});

Deno.test("writeModelDir replaces an existing model", async () => {
  await withTempDir(async (dir) => {
    const model = await encoded();
    await writeModelDir(dir, model);
    const renamed = { ...model, manifest: { ...model.manifest, name: "renamed" } };
    await writeModelDir(dir, renamed);
    assert.equal((await loadModelFromDir(dir)).graph.name, "renamed");
  });
});

Deno.test("a truncated weights file is reported with both lengths", async () => {
  await withTempDir(async (dir) => {
    const model = await encoded();
    await writeModelDir(dir, model);
    await Deno.truncate(join(dir, "weights.bin"), 100);
    await assert.rejects(loadModelFromDir(dir), {
      name: "ManifestError",
      message: `weights.bin is truncated: 100 bytes, manifest says ${model.weights.byteLength}`,
    });
  });
});

Deno.test("missing files are named", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(loadModelFromDir(dir), {
      message: `Model folder "${dir}" has no manifest.json`,
    });
    await writeModelDir(dir, await encoded());
    await Deno.remove(join(dir, "weights.bin"));
    await assert.rejects(loadModelFromDir(dir), {
      message: `Model folder "${dir}" has no weights.bin, which its manifest names`,
    });
  });
});

Deno.test("writeModelDir refuses weights that do not match the manifest", async () => {
  await withTempDir(async (dir) => {
    const model = await encoded();
    await assert.rejects(writeModelDir(dir, { ...model, weights: model.weights.subarray(256) }), {
      name: "ManifestError",
      message: /^weights\.bin is truncated: \d+ bytes, manifest says \d+$/,
    });
    assert.deepStrictEqual([...Deno.readDirSync(dir)], []);
  });
});
