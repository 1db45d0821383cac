import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { imagesToTensor } from "../image/preprocess.ts";
import { randomRgbImage } from "../image/_test_images.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { decodeModel } from "../weights/decode.ts";
import { writeModelDir } from "../weights/load_file.ts";
import { stringifyManifest } from "../weights/manifest.ts";
import { encodedTinyClassifier, expectedProbabilities, LABELS, RECIPE } from "./_testing.ts";
import { loadModel, type ModelSource } from "./load.ts";

const image = randomRgbImage(seededRandom(21), 9, 8);

Deno.test("loadModel takes URLs, byte pairs, { manifest, weights } and decoded models", async () => {
  const encoded = await encodedTinyClassifier();
  const json = stringifyManifest(encoded.manifest);
  const dir = await Deno.makeTempDir({ prefix: "resin_api_load_" });
  try {
    await writeModelDir(join(dir, "tiny"), encoded);
    const folder = pathToFileURL(join(dir, "tiny") + "/");
    const sources: [string, ModelSource][] = [
      ["folder URL", folder],
      ["manifest URL string", new URL("manifest.json", folder).href],
      ["byte pair", [new TextEncoder().encode(json), encoded.weights]],
      ["text pair", [json, encoded.weights]],
      ["manifest object", encoded],
      ["manifest text", { manifest: json, weights: encoded.weights }],
      ["decoded model", await decodeModel(encoded.manifest, encoded.weights)],
    ];
    const [expected] = expectedProbabilities(imagesToTensor([image], RECIPE));
    for (const [what, source] of sources) {
      const model = await loadModel(source, { backend: "cpu" });
      try {
        assert.equal(model.name, "tiny", what);
        assert.deepEqual(model.labels, LABELS, what);
        assert.deepEqual(model.preprocess, RECIPE, what);
        const { top } = await model.classify(image, { top: 4 });
        const byIndex = top.toSorted((a, b) => a.index - b.index).map((c) => c.probability);
        assertClose(byIndex, expected, TOLERANCES.f32Kernel, what);
      } finally {
        model.dispose();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel options replace the recipe, labels and score kind", async () => {
  const encoded = await encodedTinyClassifier({ recipe: false, labels: false });
  const recipe = { ...RECIPE, resize: { ...RECIPE.resize, size: 5 } };
  const labels = ["a", "b", "c", "d"];
  const model = await loadModel(encoded, {
    backend: "cpu",
    preprocess: recipe,
    labels,
    scores: "probabilities",
  });
  try {
    assert.deepEqual(model.preprocess, recipe);
    assert.deepEqual(model.labels, labels);
    assert.equal(model.scoreKind, "probabilities");
    // Taken as probabilities, the logits come back unchanged.
    const input = imagesToTensor([image], recipe);
    const { logits } = await model.run({ x: input });
    const { top } = await model.classify(image, { top: 4 });
    const byIndex = top.toSorted((a, b) => a.index - b.index);
    assert.deepEqual(byIndex.map((c) => c.probability), Array.from(logits.data));
    assert.deepEqual(byIndex.map((c) => c.label), labels);
  } finally {
    model.dispose();
  }
});

Deno.test("loadModel fails with one clear line", async () => {
  const encoded = await encodedTinyClassifier();
  const cases: [ModelSource, object, RegExp][] = [
    [
      encoded,
      { preprocess: { ...RECIPE, crop: { width: 6, height: 6 } } },
      /preprocess does not fit graph input "x": height x width 5x5, recipe makes 6x6/,
    ],
    [encoded, { labels: ["x"] }, /Model "tiny" has 4 classes \(output "logits" \[N,4\]\) but 1/],
    ["models/tiny/", {}, /Model URL "models\/tiny\/" is not an absolute URL; for a folder/],
    [
      { ...encoded, weights: encoded.weights.subarray(0, 256) },
      {},
      /weights.bin is truncated: 256 bytes/,
    ],
    [encoded, { batch: 0 }, /Batch size must be a positive integer, got 0/],
    [encoded, { backend: "tpu" }, /Unknown backend "tpu"/],
  ];
  for (const [source, options, message] of cases) {
    await assert.rejects(loadModel(source, { backend: "cpu", ...options }), message);
  }
  const empty = await Deno.makeTempDir({ prefix: "resin_api_load_" });
  try {
    const missing = pathToFileURL(join(empty, "none") + "/");
    await assert.rejects(loadModel(missing), /^Error: GET file:.*\/none\/manifest\.json failed/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
