import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Graph, makeTensor, type Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { encodeModel, type ModelMeta } from "./encode.ts";

const META: ModelMeta = {
  name: "layout",
  provenance: {
    source: "l.tflite",
    sha256: "ef".repeat(32),
    sourceFormat: "tflite",
    converter: "t",
  },
};

/** One node reading every initializer: f32, f16 bits, i8, u8 and i32 with odd lengths. */
function graph(initializers: Map<string, Tensor>): Graph {
  return {
    name: "layout",
    inputs: [],
    outputs: [{ name: "y", dtype: "f32", shape: [1] }],
    nodes: [{
      name: "n",
      op: "Custom",
      inputs: [...initializers.keys()],
      outputs: ["y"],
      attrs: {},
    }],
    initializers,
  };
}

function initializers(): Map<string, Tensor> {
  const rand = seededRandom(9);
  const half = makeTensor("f16", [3, 5]);
  half.data.forEach((_, i) => half.data[i] = Math.floor(rand() * 65536));
  return new Map([
    ["a", randomTensor(rand, "f32", [3, 67])], // 804 bytes: spans 4 blocks of 256
    ["b", randomTensor(rand, "i8", [5], -128, 128)],
    ["c", half],
    ["d", randomTensor(rand, "u8", [1], 0, 256)],
    ["e", randomTensor(rand, "i32", [2, 3], -(2 ** 31), 2 ** 31)],
  ]);
}

/** Reads element `i` of `dtype` at `offset` with explicit little-endian DataView accessors. */
function readLE(view: DataView, dtype: string, offset: number, i: number): number {
  switch (dtype) {
    case "f32":
      return view.getFloat32(offset + 4 * i, true);
    case "f16":
      return view.getUint16(offset + 2 * i, true);
    case "i8":
      return view.getInt8(offset + i);
    case "u8":
      return view.getUint8(offset + i);
    default:
      return view.getInt32(offset + 4 * i, true);
  }
}

Deno.test("tensors lie at aligned offsets in graph order, little-endian, zero-padded", async () => {
  const inits = initializers();
  const { manifest, weights } = await encodeModel(graph(inits), META);
  assert.deepStrictEqual(
    manifest.tensors.map((t) => [t.name, t.offset, t.byteLength]),
    [["a", 0, 804], ["b", 1024, 5], ["c", 1280, 30], ["d", 1536, 1], ["e", 1792, 24]],
  );
  assert.equal(weights.byteLength, 2048);
  assert.equal(manifest.weights.byteLength, 2048);
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const covered = new Uint8Array(weights.byteLength);
  for (const entry of manifest.tensors) {
    const tensor = inits.get(entry.name)!;
    for (let i = 0; i < tensor.data.length; i++) {
      assert.equal(
        readLE(view, entry.dtype, entry.offset, i),
        tensor.data[i],
        `${entry.name}[${i}]`,
      );
    }
    covered.fill(1, entry.offset, entry.offset + entry.byteLength);
  }
  covered.forEach((c, i) => {
    if (!c) assert.equal(weights[i], 0, `padding byte ${i}`);
  });
});

Deno.test("the manifest's sha256 is the weights file's (checked with node:crypto)", async () => {
  const { manifest, weights } = await encodeModel(graph(initializers()), META);
  assert.equal(manifest.weights.sha256, createHash("sha256").update(weights).digest("hex"));
  assert.equal(manifest.weights.file, "weights.bin");
});

Deno.test("encoding is deterministic and shares nothing with the graph", async () => {
  const g = graph(initializers());
  const first = await encodeModel(g, META);
  const second = await encodeModel(graph(initializers()), META);
  assert.deepStrictEqual(first, second);
  g.nodes[0].inputs.pop();
  g.initializers.get("a")!.shape[0] = 1;
  assert.equal(first.manifest.graph.nodes[0].inputs.length, 5);
  assert.deepStrictEqual(first.manifest.tensors[0].shape, [3, 67]);
});

Deno.test("a graph without initializers has an empty weights file", async () => {
  const { manifest, weights } = await encodeModel(graph(new Map()), META);
  assert.equal(weights.byteLength, 0);
  assert.deepStrictEqual(manifest.tensors, []);
  assert.equal(manifest.weights.sha256, createHash("sha256").update(weights).digest("hex"));
});

Deno.test("data that does not fit the dtype or shape is refused", async () => {
  await assert.rejects(
    encodeModel(
      graph(new Map([["w", { dtype: "i8", shape: [2], data: new Uint8Array(2) }]])),
      META,
    ),
    { message: 'Initializer "w" is i8, so its data must be Int8Array, not Uint8Array' },
  );
  await assert.rejects(
    encodeModel(
      graph(new Map([["w", { dtype: "f32", shape: [2, 3], data: new Float32Array(5) }]])),
      META,
    ),
    { message: 'Initializer "w" has 5 elements but its shape [2,3] needs 6' },
  );
});

Deno.test("an invalid graph fails with the manifest validator's message", async () => {
  const g = graph(initializers());
  g.nodes[0].inputs.push("missing");
  await assert.rejects(encodeModel(g, META), {
    name: "ManifestError",
    message: 'Manifest node "n" (Custom) input 5 "missing" is not a graph input, an initializer ' +
      "or an output of an earlier node",
  });
});
