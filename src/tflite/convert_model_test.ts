import assert from "node:assert/strict";
import { join } from "node:path";
import { convert } from "../../tools/convert.ts";
import { HAS_SHARED, SHARED_DIR } from "../image/_test_images.ts";
import { loadModelFromDir } from "../weights/load_file.ts";
import { OPTIONS, tfliteModel } from "./_test_models.ts";
import { convertTflite, isTflite } from "./convert_model.ts";

/** x [1,3] -> FULLY_CONNECTED (w [2,3], b [2]) -> y [1,2]. */
const TINY = tfliteModel({
  tensors: [
    { name: "x", shape: [1, 3], type: "FLOAT32", signature: [-1, 3] },
    { name: "w", shape: [2, 3], type: "FLOAT32", data: [1, 2, 3, 4, 5, 6] },
    { name: "b", shape: [2], type: "FLOAT32", data: [0.5, -0.5] },
    { name: "y", shape: [1, 2], type: "FLOAT32", signature: [-1, 2] },
  ],
  ops: [{
    op: "FULLY_CONNECTED",
    inputs: [0, 1, 2],
    outputs: [3],
    options: OPTIONS.fullyConnected(),
  }],
  inputs: [0],
  outputs: [3],
});

Deno.test("convertTflite records tflite provenance; isTflite reads the identifier", async () => {
  assert.equal(isTflite(TINY), true);
  assert.equal(isTflite(TINY.subarray(0, 7)), false);
  const { manifest } = await convertTflite(TINY, { name: "tiny", source: "tiny.tflite" });
  assert.equal(manifest.provenance.sourceFormat, "tflite");
  assert.equal(manifest.provenance.producer, "resin test model");
  assert.deepEqual(manifest.graph.nodes.map((n) => n.op), ["Gemm"]);
});

Deno.test("the convert tool picks the TFLite importer by identifier or extension", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // No .tflite extension: the identifier decides.
    await Deno.writeFile(join(dir, "tiny.bin"), TINY);
    await convert({ model: join(dir, "tiny.bin"), out: join(dir, "a") });
    const { manifest } = await loadModelFromDir(join(dir, "a"));
    assert.equal(manifest.name, "tiny");
    assert.equal(manifest.provenance.sourceFormat, "tflite");
    // A .tflite file without the identifier is reported as a bad TFLite file.
    const bad = TINY.slice();
    bad.set(new TextEncoder().encode("XXXX"), 4);
    await Deno.writeFile(join(dir, "bad.tflite"), bad);
    await assert.rejects(
      () => convert({ model: join(dir, "bad.tflite"), out: join(dir, "b") }),
      /Not a TFLite model \(or truncated\): File identifier is "XXXX", expected "TFL3"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "converting the MLPerf Tiny ResNet-8 files records their sha256 (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = join(SHARED_DIR, "models", "mlperf-tiny-resnet8");
    // The values ../shared/models/README.md lists.
    for (
      const [file, sha256] of [
        [
          "pretrainedResnet.tflite",
          "b5c0046d6e0328b4956afd6baa29555a29b1f1c65bdd45aaed75b7cd484d9f79",
        ],
        [
          "pretrainedResnet_quant.tflite",
          "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415",
        ],
      ]
    ) {
      const bytes = await Deno.readFile(join(dir, file));
      const { manifest } = await convertTflite(bytes, { name: "resnet8", source: file });
      assert.equal(manifest.provenance.sha256, sha256);
      assert.equal(manifest.provenance.producer, "MLIR Converted.");
    }
  },
});
