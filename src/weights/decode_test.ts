import assert from "node:assert/strict";
import { type Graph, makeTensor, type Tensor, type TensorData } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { decodeModel } from "./decode.ts";
import { encodeModel, type ModelMeta } from "./encode.ts";
import { type Manifest, stringifyManifest } from "./manifest.ts";
import { loadModelFromBytes } from "./load.ts";
import { PREPROCESS_PRESETS } from "./preprocess.ts";
import { sha256Hex } from "./sha256.ts";

/** Raw f16 bits, every 16-bit pattern possible (NaNs and infinities included). */
function randomF16(rand: () => number, shape: number[]): Tensor {
  const t = makeTensor("f16", shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.floor(rand() * 65536);
  return t;
}

/** A graph with every dtype, per-tensor and per-axis quant, odd sizes and all attr kinds. */
function fixture(): Graph {
  const rand = seededRandom(7);
  const conv = randomTensor(rand, "f32", [5, 3, 3, 3]);
  const qweight = randomTensor(rand, "i8", [5, 3, 1, 1], -128, 128);
  qweight.quant = {
    scale: [0.5, 0.25, 0.125, 0.0625, 0.03125],
    zeroPoint: [0, 1, -1, 2, -128],
    axis: 0,
  };
  const qbias = randomTensor(rand, "i32", [5], -1e6, 1e6);
  qbias.quant = { scale: [0.1, 0.2, 0.3, 0.4, 0.5], zeroPoint: [0, 0, 0, 0, 0], axis: 0 };
  const codes = randomTensor(rand, "u8", [7], 0, 256);
  codes.quant = { scale: [0.0078125], zeroPoint: [128] };
  const initializers = new Map<string, Tensor>([
    ["conv.w", conv],
    ["conv.b", randomTensor(rand, "f32", [5])],
    ["half", randomF16(rand, [3, 3])],
    ["qconv.w", qweight],
    ["qconv.b", qbias],
    ["codes", codes],
    ["scalar", makeTensor("i32", [], [-7])],
    ["empty", makeTensor("f32", [0, 3])],
  ]);
  return {
    name: "fixture",
    inputs: [
      { name: "image", dtype: "f32", shape: ["N", 3, 224, 224], layout: "NCHW" },
      { name: "tokens", dtype: "u8", shape: [1, 7], quant: { scale: [0.5], zeroPoint: [3] } },
    ],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", 5, 224, 224], layout: "NCHW" }],
    nodes: [
      {
        name: "conv0",
        op: "Conv",
        inputs: ["image", "conv.w", "conv.b", "", "", ""],
        outputs: ["c"],
        attrs: {
          kernel_shape: [3, 3],
          pads: [1, 1, 1, 1],
          group: 1,
          activation: "clip",
          clip_min: -0.5,
          clip_max: 6.000000238418579,
          epsilon: 9.999999747378752e-6,
          names: ["a", "b"],
          empty: [],
        },
      },
      { name: "add0", op: "Add", inputs: ["c", "tokens"], outputs: ["y"], attrs: {} },
      {
        name: "side",
        op: "Custom",
        inputs: ["half", "qconv.w", "qconv.b", "codes", "scalar", "empty"],
        outputs: ["unused"],
        attrs: {},
      },
    ],
    initializers,
  };
}

const META: ModelMeta = {
  name: "fixture",
  preprocess: PREPROCESS_PRESETS.imagenet,
  labels: ["cat", "dog", "", "ünïcödé", 'a "quoted" label'],
  provenance: {
    source: "fixture.onnx",
    sha256: "0".repeat(64),
    sourceFormat: "onnx",
    opset: 13,
    producer: "hand",
    converter: "resin test",
  },
};

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Deep equality of graphs, plus byte identity of every initializer. */
function assertSameGraph(actual: Graph, expected: Graph): void {
  assert.deepStrictEqual(actual, expected);
  assert.deepStrictEqual([...actual.initializers.keys()], [...expected.initializers.keys()]);
  for (const [name, t] of expected.initializers) {
    const a = actual.initializers.get(name)!;
    assert.equal(a.data.constructor, t.data.constructor, name);
    assert.deepStrictEqual(bytesOf(a.data), bytesOf(t.data), name);
  }
}

Deno.test("round trip: graph -> encode -> decode is exact for every dtype and quant kind", async () => {
  const graph = fixture();
  const { manifest, weights } = await encodeModel(graph, META);
  const loaded = await decodeModel(manifest, weights);
  assertSameGraph(loaded.graph, graph);
  assert.deepStrictEqual(loaded.manifest, manifest);
});

Deno.test("round trip through the JSON text is exact too", async () => {
  const graph = fixture();
  const { manifest, weights } = await encodeModel(graph, META);
  const text = stringifyManifest(manifest);
  const loaded = await loadModelFromBytes(text, weights);
  assertSameGraph(loaded.graph, graph);
  assert.deepStrictEqual(loaded.manifest, manifest);
  const fromBytes = await loadModelFromBytes(new TextEncoder().encode(text), weights);
  assertSameGraph(fromBytes.graph, graph);
});

Deno.test("decoded initializers are aligned views, or copies when the bytes are misaligned", async () => {
  const graph = fixture();
  const { manifest, weights } = await encodeModel(graph, META);
  const aligned = await decodeModel(manifest, weights);
  assert.equal(aligned.graph.initializers.get("conv.w")!.data.buffer, weights.buffer);

  const shifted = new Uint8Array(weights.byteLength + 1).subarray(1);
  shifted.set(weights);
  const copied = await decodeModel(manifest, shifted);
  assertSameGraph(copied.graph, graph);
  const w = copied.graph.initializers.get("conv.w")!.data;
  assert.notEqual(w.buffer, shifted.buffer);
  // 1-byte types stay views: any offset is aligned for them.
  assert.equal(copied.graph.initializers.get("codes")!.data.buffer, shifted.buffer);
});

Deno.test("the decoded graph does not share nodes or values with the manifest", async () => {
  const { manifest, weights } = await encodeModel(fixture(), META);
  const { graph, manifest: m } = await decodeModel(manifest, weights);
  graph.nodes[0].inputs.push("changed");
  graph.inputs[0].shape[0] = 1;
  graph.initializers.get("codes")!.quant!.scale[0] = 1;
  assert.deepStrictEqual(m.graph.nodes[0].inputs, fixture().nodes[0].inputs);
  assert.equal(m.graph.inputs[0].shape[0], "N");
  assert.equal(m.tensors.find((t) => t.name === "codes")!.quant!.scale[0], 0.0078125);
});

async function encoded(): Promise<{ manifest: Manifest; weights: Uint8Array }> {
  return await encodeModel(fixture(), META);
}

Deno.test("truncated weights are reported with both lengths", async () => {
  const { manifest, weights } = await encoded();
  const short = weights.subarray(0, weights.byteLength - 256);
  await assert.rejects(decodeModel(manifest, short), {
    name: "ManifestError",
    message: `weights.bin is truncated: ${short.byteLength} bytes, manifest says ` +
      `${weights.byteLength}`,
  });
});

Deno.test("overlong weights are reported as not belonging to the manifest", async () => {
  const { manifest, weights } = await encoded();
  const long = new Uint8Array(weights.byteLength + 1);
  long.set(weights);
  await assert.rejects(decodeModel(manifest, long), {
    name: "ManifestError",
    message: /^weights\.bin is too long: \d+ bytes, manifest says \d+; it does not belong/,
  });
});

Deno.test("one flipped byte fails the checksum", async () => {
  const { manifest, weights } = await encoded();
  const corrupt = weights.slice();
  corrupt[300] ^= 0x10;
  await assert.rejects(decodeModel(manifest, corrupt), {
    name: "ManifestError",
    message: new RegExp(
      `^weights\\.bin checksum mismatch: its sha256 is [0-9a-f]{64}, the manifest says ` +
        `${manifest.weights.sha256}; the file is corrupt or does not belong to this manifest$`,
    ),
  });
});

Deno.test("non-zero padding is rejected even when the checksum matches", async () => {
  const { manifest, weights } = await encoded();
  const first = manifest.tensors[0];
  const gap = first.offset + first.byteLength; // conv.w is 540 bytes: bytes 540..767 are padding
  const padded = weights.slice();
  padded[gap] = 9;
  const forged = structuredClone(manifest);
  forged.weights.sha256 = await sha256Hex(padded);
  await assert.rejects(decodeModel(forged, padded), {
    name: "ManifestError",
    message: `weights.bin has the non-zero byte 9 at offset ${gap}, outside every tensor; ` +
      `padding must be zero`,
  });
});

Deno.test("decodeModel validates the manifest first", async () => {
  const { manifest, weights } = await encoded();
  await assert.rejects(decodeModel({ ...manifest, format: "onnx" }, weights), {
    name: "ManifestError",
    message: /^Manifest format is "onnx", expected "resin-model"/,
  });
});
