import assert from "node:assert/strict";
import type { Tensor } from "../graph/types.ts";
import { decodeImage } from "../image/decode.ts";
import { ImageError, type RgbImage } from "../image/image.ts";
import { imagesToTensor } from "../image/preprocess.ts";
import { encodeJpeg, randomRgbImage } from "../image/_test_images.ts";
import { gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import {
  CLASSES,
  encodedTinyClassifier,
  expectedProbabilities,
  LABELS,
  RECIPE,
} from "./_testing.ts";
import type { Classification } from "./classifier.ts";
import { loadModel, type LoadModelOptions } from "./load.ts";
import { softmax, topK } from "./scores.ts";

/** Random images of odd, different sizes (all larger than the 5x5 crop after resizing). */
function images(count: number, seed: number): RgbImage[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => randomRgbImage(rand, 6 + 3 * i, 13 - i));
}

/** Asserts that `actual` ranks classes as `expected` (float64 probabilities) does. */
function assertRanked(actual: Classification, expected: Float64Array, k: number, what: string) {
  const want = topK(expected, k, LABELS);
  assert.deepEqual(
    actual.top.map((c) => [c.index, c.label]),
    want.map((c) => [c.index, c.label]),
    what,
  );
  assertClose(
    actual.top.map((c) => c.probability),
    want.map((c) => c.probability),
    TOLERANCES.f32Kernel,
    what,
  );
}

async function tiny(options: LoadModelOptions & { softmaxHead?: boolean; recipe?: boolean } = {}) {
  const { softmaxHead, recipe, ...load } = options;
  return await loadModel(await encodedTinyClassifier({ softmaxHead, recipe }), {
    backend: "cpu",
    ...load,
  });
}

Deno.test("classify ranks classes as a float64 computation does, for pixels and bytes", async () => {
  const model = await tiny();
  try {
    assert.equal(model.backend, "cpu");
    assert.equal(model.classes, CLASSES);
    assert.equal(model.scoreKind, "logits");
    const [image] = images(1, 1);
    const [expected] = expectedProbabilities(imagesToTensor([image], RECIPE));
    assertRanked(await model.classify(image, { top: 3 }), expected, 3, "pixels");

    const jpeg = encodeJpeg(image);
    const [fromJpeg] = expectedProbabilities(imagesToTensor([decodeImage(jpeg)], RECIPE));
    assertRanked(await model.classify(jpeg, { top: 3 }), fromJpeg, 3, "jpeg");
  } finally {
    model.dispose();
  }
});

Deno.test("classify runs a list in batches, padding the last one", async () => {
  const model = await tiny({ batch: 2 });
  try {
    const list = images(5, 2);
    const expected = expectedProbabilities(imagesToTensor(list, RECIPE));
    const batches: number[] = [];
    const run = model.run.bind(model);
    Object.assign(model, {
      run: (inputs: Record<string, Tensor>) => {
        batches.push(inputs.x.shape[0]);
        return run(inputs);
      },
    });
    const results = await model.classify(list, { top: 2 });
    assert.equal(results.length, 5);
    results.forEach((r, i) => assertRanked(r, expected[i], 2, `image ${i}`));
    assert.deepEqual(batches, [2, 2, 2]);
    assert.deepEqual(await model.classify([]), []);
  } finally {
    model.dispose();
  }
});

Deno.test("classify takes a final Softmax's output as probabilities", async () => {
  const model = await tiny({ softmaxHead: true });
  try {
    assert.equal(model.scoreKind, "probabilities");
    const list = images(2, 3);
    const expected = expectedProbabilities(imagesToTensor(list, RECIPE));
    const results = await model.classify(list, { top: CLASSES });
    results.forEach((r, i) => assertRanked(r, expected[i], CLASSES, `image ${i}`));
  } finally {
    model.dispose();
  }
});

Deno.test("classify returns 5 classes by default, capped at the class count", async () => {
  const model = await tiny();
  try {
    const [image] = images(1, 4);
    assert.equal((await model.classify(image)).top.length, CLASSES);
    assert.equal((await model.classify(image, { top: 1 })).top.length, 1);
    for (const top of [0, 1.5, -2]) {
      await assert.rejects(
        model.classify(image, { top }),
        new RegExp(`top must be a positive integer, got ${top}`),
      );
    }
  } finally {
    model.dispose();
  }
});

Deno.test("classify explains what it cannot do", async () => {
  const bare = await tiny({ recipe: false });
  try {
    await assert.rejects(
      bare.classify(images(1, 5)[0]),
      /Model "tiny" has no preprocess recipe in its manifest; pass options.preprocess/,
    );
  } finally {
    bare.dispose();
  }
  const model = await tiny();
  const good = images(1, 6)[0];
  await assert.rejects(
    model.classify({ width: 4, height: 3, data: new Uint8Array(35) }),
    /RGB image 4x3 has 35 bytes; it needs positive integer sizes and width \* height \* 3 bytes/,
  );
  await assert.rejects(
    model.classify([good, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16])]),
    (err) => err instanceof ImageError && /^Image 1 of 2: /.test(err.message),
  );
  model.dispose();
  model.dispose();
  await assert.rejects(model.classify(good), /Model "tiny" was disposed; load it again/);
  assert.throws(() => model.run({}), /was disposed/);
});

Deno.test("run queues overlapping calls and returns every output", async () => {
  const model = await tiny();
  try {
    const [a, b] = images(2, 7).map((image) => imagesToTensor([image], RECIPE));
    const [outA, outB] = await Promise.all([model.run({ x: a }), model.run({ x: b })]);
    const pairs: [Tensor, Record<string, Tensor>][] = [[a, outA], [b, outB]];
    for (const [input, output] of pairs) {
      assert.deepEqual(Object.keys(output), ["logits"]);
      assert.deepEqual(output.logits.shape, [1, CLASSES]);
      assertClose(
        softmax(output.logits.data),
        expectedProbabilities(input)[0],
        TOLERANCES.f32Kernel,
      );
    }
    // A run that fails (wrong shape) does not block the queue.
    await assert.rejects(model.run({ x: imagesToTensor(images(2, 8), RECIPE) }));
    assert.deepEqual((await model.run({ x: a })).logits.shape, [1, CLASSES]);
  } finally {
    model.dispose();
  }
});

gpuTest("classify on the GPU ranks classes as the float64 computation does", async () => {
  const model = await tiny({ backend: "gpu", batch: 3 });
  try {
    assert.equal(model.backend, "gpu");
    const list = images(4, 9);
    const expected = expectedProbabilities(imagesToTensor(list, RECIPE));
    const results = await model.classify(list, { top: CLASSES });
    results.forEach((r, i) => assertRanked(r, expected[i], CLASSES, `image ${i}`));
  } finally {
    model.dispose();
  }
});
