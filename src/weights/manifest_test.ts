import assert from "node:assert/strict";
import { type Graph, makeTensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { encodeModel } from "./encode.ts";
import {
  FORMAT_LIMITS,
  type Manifest,
  parseManifestJson,
  stringifyManifest,
  validateManifest,
} from "./manifest.ts";

/** Conv(x, w, b) -> y with one per-axis quantized i8 tensor: three tensors at 0, 256, 512. */
function graph(): Graph {
  const rand = seededRandom(3);
  const q = randomTensor(rand, "i8", [2, 3], -128, 128);
  q.quant = { scale: [0.5, 0.25], zeroPoint: [0, -3], axis: 0 };
  return {
    name: "tiny",
    inputs: [{ name: "x", dtype: "f32", shape: ["N", 3, 4, 4], layout: "NCHW" }],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", 2, 4, 4] }],
    nodes: [
      {
        name: "conv",
        op: "Conv",
        inputs: ["x", "w", "b", ""],
        outputs: ["y"],
        attrs: { group: 1 },
      },
      { name: "side", op: "Custom", inputs: ["q"], outputs: ["z"], attrs: {} },
    ],
    initializers: new Map([
      ["w", randomTensor(rand, "f32", [2, 3, 3, 3])],
      ["b", makeTensor("f32", [2], [0.5, -0.5])],
      ["q", q],
    ]),
  };
}

const PROVENANCE = {
  source: "tiny.onnx",
  sha256: "ab".repeat(32),
  sourceFormat: "onnx",
  converter: "resin test",
} as const;

// deno-lint-ignore no-explicit-any
type Json = any;

/** A valid manifest as parsed JSON, free to mutate. */
async function validJson(): Promise<Json> {
  const { manifest } = await encodeModel(graph(), { name: "tiny", provenance: PROVENANCE });
  return JSON.parse(stringifyManifest(manifest));
}

/** Asserts that `json`, after `edit`, fails validation with a message matching `message`. */
async function assertInvalid(edit: (m: Json) => void, message: RegExp | string): Promise<void> {
  const json = await validJson();
  edit(json);
  assert.throws(() => validateManifest(json), { name: "ManifestError", message });
}

Deno.test("a valid manifest validates to an equal, independent copy", async () => {
  const json = await validJson();
  const manifest = validateManifest(json);
  assert.deepStrictEqual(manifest, json);
  json.graph.nodes[0].inputs[0] = "changed";
  json.tensors[0].shape[0] = 99;
  assert.equal(manifest.graph.nodes[0].inputs[0], "x");
  assert.equal(manifest.tensors[0].shape[0], 2);
});

Deno.test("random bytes as a manifest are rejected as not UTF-8", () => {
  const rand = seededRandom(11);
  const bytes = Uint8Array.from({ length: 64 }, () => Math.floor(rand() * 256));
  assert.throws(() => parseManifestJson(bytes), {
    name: "ManifestError",
    message: "Manifest is not UTF-8 text; is this really a manifest.json?",
  });
});

Deno.test("random text as a manifest is rejected as not JSON", () => {
  assert.throws(() => parseManifestJson("resin-model v1 {"), {
    name: "ManifestError",
    message: /^Manifest is not valid JSON \(.+\)$/,
  });
});

Deno.test("an oversized manifest is rejected before decoding", () => {
  const huge = new Uint8Array(FORMAT_LIMITS.manifestBytes + 1);
  assert.throws(() => parseManifestJson(huge), {
    name: "ManifestError",
    message: `Manifest is ${huge.byteLength} bytes, more than the limit of ` +
      `${FORMAT_LIMITS.manifestBytes}`,
  });
});

Deno.test("JSON that is not an object is rejected", () => {
  for (const json of [null, [1, 2], "resin-model", 3]) {
    assert.throws(() => validateManifest(json), {
      name: "ManifestError",
      message: /^Manifest manifest must be an object, got /,
    });
  }
});

Deno.test("wrong format name", async () => {
  await assertInvalid(
    (m) => m.format = "onnx-json",
    'Manifest format is "onnx-json", expected "resin-model"; this is not a resin model',
  );
  await assertInvalid((m) => delete m.format, /^Manifest format is nothing, expected/);
  await assertInvalid(
    (m) => m.format = "x".repeat(200),
    `Manifest format is "${"x".repeat(76)}..., expected "resin-model"; this is not a resin model`,
  );
});

Deno.test("a newer version is refused before anything else is checked", async () => {
  await assertInvalid(
    (m) => {
      m.version = 2;
      m.newField = true;
      m.tensors = "changed in v2";
    },
    "Manifest was written by a newer resin (version 2); this resin reads version 1. " +
      "Update resin to load this model.",
  );
});

Deno.test("versions that are not positive integers", async () => {
  for (const version of [0, -1, 1.5, "1", null]) {
    await assertInvalid(
      (m) => m.version = version,
      /^Manifest version must be an integer in \[1, 9007199254740991\], got /,
    );
  }
});

Deno.test("unknown and missing fields", async () => {
  await assertInvalid((m) => m.extra = 1, 'Manifest manifest has an unknown field "extra"');
  await assertInvalid(
    (m) => delete m.provenance,
    'Manifest manifest is missing the field "provenance"',
  );
  await assertInvalid(
    (m) => m.tensors[1].ofset = 0,
    'Manifest tensors[1] has an unknown field "ofset"',
  );
});

Deno.test("out-of-range offset", async () => {
  await assertInvalid(
    (m) => m.tensors[2].offset = m.weights.byteLength,
    'Manifest tensor "q" ends at byte 774 (offset 768 + byteLength 6), past the end of ' +
      "weights.bin (768 bytes)",
  );
  await assertInvalid(
    (m) => m.tensors[2].offset = 2 ** 40,
    'Manifest tensor "q" offset must be an integer in [0, 4294967296], got 1099511627776',
  );
});

Deno.test("misaligned and overlapping offsets", async () => {
  await assertInvalid(
    (m) => m.tensors[1].offset = 300,
    'Manifest tensor "b" offset 300 is not a multiple of 256',
  );
  await assertInvalid(
    (m) => m.tensors[2].offset = 0,
    'Manifest tensors "w" (bytes 0..216) and "q" (from byte 0) overlap',
  );
});

Deno.test("overflowing shape", async () => {
  await assertInvalid(
    (m) => m.tensors[0].shape = [2 ** 40, 2 ** 40],
    'Manifest tensor "w" shape [1099511627776,1099511627776] has more than 1073741824 elements',
  );
  await assertInvalid(
    (m) => m.tensors[0].shape = [2 ** 53, 0],
    /^Manifest tensor "w" shape \[9007199254740992,0\] has the dim 9007199254740992; dims are/,
  );
});

Deno.test("bad dims and ranks", async () => {
  await assertInvalid(
    (m) => m.tensors[0].shape = [2, -3],
    'Manifest tensor "w" shape [2,-3] has the dim -3; dims are non-negative integers',
  );
  await assertInvalid(
    (m) => m.tensors[0].shape = ["N", 3],
    /^Manifest tensor "w" shape \["N",3\] has the dim "N"; dims are non-negative integers$/,
  );
  await assertInvalid(
    (m) => m.graph.inputs[0].shape = [1.5],
    'Manifest graph.inputs[0] "x" shape [1.5] has the dim 1.5; dims are non-negative ' +
      "integers or names",
  );
  await assertInvalid(
    (m) => m.tensors[1].shape = [1, 1, 1, 1, 1, 1, 1, 1, 2],
    'Manifest tensor "b" shape [1,1,1,1,1,1,1,1,2] has rank 9, more than 8',
  );
});

Deno.test("dtype and byteLength mismatch", async () => {
  await assertInvalid(
    (m) => m.tensors[0].dtype = "f16",
    'Manifest tensor "w" byteLength 216 does not match f16 [2,3,3,3], which is 108 bytes',
  );
  await assertInvalid(
    (m) => m.tensors[0].dtype = "f64",
    'Manifest tensor "w" dtype is "f64"; expected one of "f32", "f16", "i8", "u8", "i32"',
  );
});

Deno.test("unknown node input reference", async () => {
  await assertInvalid(
    (m) => m.graph.nodes[0].inputs[1] = "w_typo",
    'Manifest node "conv" (Conv) input 1 "w_typo" is not a graph input, an initializer or an ' +
      "output of an earlier node",
  );
});

Deno.test("a node that reads a later node's output is out of order", async () => {
  await assertInvalid(
    (m) => m.graph.nodes[0].inputs[3] = "z",
    'Manifest node "conv" (Conv) input 3 "z" is not a graph input, an initializer or an ' +
      "output of an earlier node",
  );
});

Deno.test("duplicate names", async () => {
  await assertInvalid((m) => m.tensors[1].name = "w", 'Manifest tensor name "w" is used twice');
  await assertInvalid(
    (m) => m.graph.nodes[1].name = "conv",
    'Manifest node name "conv" is used twice',
  );
  await assertInvalid(
    (m) => m.graph.nodes[1].outputs[0] = "y",
    'Manifest node "side" (Custom) output "y" is already the output of node "conv"',
  );
  await assertInvalid(
    (m) => m.graph.nodes[1].outputs[0] = "x",
    'Manifest node "side" (Custom) output "x" is already a graph input',
  );
  await assertInvalid(
    (m) => m.graph.inputs.push({ name: "w", dtype: "f32", shape: [2, 3, 3, 3] }),
    'Manifest graph input "w" is also an initializer; weights are never inputs',
  );
  await assertInvalid(
    (m) => m.graph.inputs.push(m.graph.inputs[0]),
    'Manifest graph input "x" is listed twice',
  );
  await assertInvalid(
    (m) => m.graph.outputs.push(m.graph.outputs[0]),
    'Manifest graph output "y" is listed twice',
  );
});

Deno.test("graph outputs must be produced and nodes must have outputs", async () => {
  await assertInvalid(
    (m) => m.graph.outputs[0].name = "nowhere",
    'Manifest graph output "nowhere" is never produced',
  );
  await assertInvalid(
    (m) => m.graph.nodes[1].outputs = [],
    'Manifest node "side" (Custom) has no outputs',
  );
  await assertInvalid(
    (m) => m.graph.nodes[1].outputs = [""],
    'Manifest node "side" outputs[0] must be a non-empty string, got ""',
  );
});

Deno.test("attribute values", async () => {
  await assertInvalid(
    (m) => m.graph.nodes[0].attrs.pads = { top: 1 },
    'Manifest node "conv" attribute "pads" is {"top":1}; expected a number, a string or an ' +
      "array of either",
  );
  await assertInvalid(
    (m) => m.graph.nodes[0].attrs.pads = [1, "1"],
    'Manifest node "conv" attribute "pads"[1] must be a finite number, got "1"',
  );
  await assertInvalid(
    (m) => m.graph.nodes[0].attrs.clip_max = Infinity,
    'Manifest node "conv" attribute "clip_max" must be a finite number, got Infinity',
  );
  const json = await validJson();
  json.graph.nodes[0].attrs = JSON.parse('{"__proto__": [1, 2]}');
  const manifest = validateManifest(json);
  assert.deepStrictEqual(Object.keys(manifest.graph.nodes[0].attrs), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(manifest.graph.nodes[0].attrs), Object.prototype);
});

Deno.test("quant params must fit the dtype, axis and shape", async () => {
  await assertInvalid(
    (m) => m.tensors[2].quant.scale.push(0.1),
    'Manifest tensor "q" quant.scale has 3 values; axis 0 of [2,3] needs 2',
  );
  await assertInvalid(
    (m) => m.tensors[2].quant.zeroPoint.pop(),
    'Manifest tensor "q" quant.zeroPoint has 1 values but scale has 2',
  );
  await assertInvalid(
    (m) => m.tensors[2].quant.axis = 2,
    'Manifest tensor "q" quant.axis must be an integer in [0, 1], got 2',
  );
  await assertInvalid(
    (m) => delete m.tensors[2].quant.axis,
    'Manifest tensor "q" quant.scale has 2 values; per-tensor needs 1',
  );
  await assertInvalid(
    (m) => m.tensors[2].quant.zeroPoint[1] = 128,
    'Manifest tensor "q" quant.zeroPoint[1] must be an integer in [-128, 127], got 128',
  );
  await assertInvalid(
    (m) => m.tensors[2].quant.scale[0] = 0,
    'Manifest tensor "q" quant.scale[0] must be positive, got 0',
  );
  await assertInvalid(
    (m) => m.tensors[0].quant = { scale: [1], zeroPoint: [0] },
    'Manifest tensor "w" quant is given, but dtype f32 is not an integer type',
  );
  await assertInvalid(
    (m) =>
      m.graph.inputs[0] = {
        ...m.graph.inputs[0],
        dtype: "u8",
        quant: { scale: [1], zeroPoint: [0], axis: 0 },
      },
    'Manifest graph.inputs[0] "x" quant.axis 0 is the symbolic dim "N"',
  );
});

Deno.test("the weights file entry", async () => {
  for (const file of ["../weights.bin", "/etc/passwd", "a/b.bin", ".hidden", "manifest.json"]) {
    await assertInvalid(
      (m) => m.weights.file = file,
      `Manifest weights.file ${JSON.stringify(file)} must be a plain file name beside the manifest`,
    );
  }
  await assertInvalid(
    (m) => m.weights.byteLength = 1000,
    "Manifest weights.byteLength 1000 is not a multiple of 256",
  );
  await assertInvalid(
    (m) => m.weights.byteLength = 2 ** 33,
    "Manifest weights.byteLength must be an integer in [0, 4294967296], got 8589934592",
  );
  await assertInvalid(
    (m) => m.weights.sha256 = "F".repeat(64),
    `Manifest weights.sha256 must be 64 lowercase hex digits, got "${"F".repeat(64)}"`,
  );
});

Deno.test("provenance and labels", async () => {
  await assertInvalid(
    (m) => m.provenance.sourceFormat = "pytorch",
    'Manifest provenance.sourceFormat is "pytorch"; expected one of "onnx", "tflite"',
  );
  await assertInvalid(
    (m) => m.labels = ["cat", 7],
    "Manifest labels[1] must be a string, got 7",
  );
});

Deno.test("stringifyManifest writes JSON that parses back to the manifest", async () => {
  const manifest: Manifest = validateManifest(await validJson());
  manifest.labels = Array.from({ length: 20 }, (_, i) => `class ${i}`);
  manifest.graph.nodes[0].attrs.long_attribute_name_to_push_the_line = Array(20).fill(1.25);
  const text = stringifyManifest(manifest);
  assert.deepStrictEqual(JSON.parse(text), manifest);
  assert.ok(text.endsWith("}\n"));
  const long = text.split("\n").filter((line) => line.length > 100);
  assert.deepStrictEqual(long, [], "lines over 100 columns");
});
