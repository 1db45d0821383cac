/**
 * End to end tests of the CLI (classify.ts), run as a subprocess the way users run it, with a
 * private cache and network access to 127.0.0.1 only (so no test contacts a real host):
 * table and JSON output, every bad input with its message and exit code, and the top-1 class
 * against onnxruntime on real photos for zoo-synth fp32 models (identical preprocessing).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import {
  encodedTinyClassifier,
  expectedProbabilities,
  LABELS,
  RECIPE,
} from "../src/api/_testing.ts";
import type { Tensor } from "../src/graph/types.ts";
import { decodeImage } from "../src/image/decode.ts";
import type { RgbImage } from "../src/image/image.ts";
import { imagesToTensor } from "../src/image/preprocess.ts";
import { encodeJpeg, findMarker, randomRgbImage } from "../src/image/_test_images.ts";
import { attr, modelBytes, node, tensorInfo } from "../src/onnx/_test_models.ts";
import { parseSynset } from "../src/registry/models.ts";
import { seededRandom } from "../src/testing/random.ts";
import { assertClose, TOLERANCES } from "../src/testing/tolerance.ts";
import { writeModelDir } from "../src/weights/load_file.ts";
import { type ImagePreprocess, PREPROCESS_PRESETS } from "../src/weights/preprocess.ts";
import { zooModel, zooModelUnavailable } from "./_zoo.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SHARED = fileURLToPath(new URL("../../shared/", import.meta.url));
const HAS_SHARED = await Deno.stat(SHARED).then((s) => s.isDirectory, () => false);
const ZOO = join(SHARED, "models", "zoo-synth");
const IMAGES = join(SHARED, "images");
/** Why the full-size resnet18-v1-7-synth can be neither read nor made, if it cannot. */
const FULL_SIZE_UNAVAILABLE = zooModelUnavailable("resnet18-v1-7");
const HAS_GPU = await navigator.gpu?.requestAdapter().then((a) => a !== null, () => false);

/** The fixtures every test shares: a temporary folder with models and images. */
const dir = await Deno.makeTempDir({ prefix: "resin_classify_" });
const cache = join(dir, "cache");
const emptyMirror = join(dir, "empty_mirror");
await Deno.mkdir(emptyMirror);
const tinyDir = join(dir, "tiny");
await writeModelDir(tinyDir, await encodedTinyClassifier());
const noRecipeDir = join(dir, "no_recipe");
await writeModelDir(noRecipeDir, await encodedTinyClassifier({ recipe: false }));
const rand = seededRandom(5);
const photos = [randomRgbImage(rand, 23, 17), randomRgbImage(rand, 11, 30)];
const [jpegA, jpegB] = photos.map((p) => encodeJpeg(p, 95));
const files = {
  a: join(dir, "a.jpg"),
  b: join(dir, "b.jpg"),
  text: join(dir, "notes.txt"),
  truncated: join(dir, "truncated.jpg"),
  corrupt: join(dir, "corrupt.jpg"),
  missing: join(dir, "missing.jpg"),
  unsupported: join(dir, "unsupported.onnx"),
  notOnnx: join(dir, "garbage.onnx"),
};
await Deno.writeFile(files.a, jpegA);
await Deno.writeFile(files.b, jpegB);
await Deno.writeTextFile(files.text, "not an image\n");
await Deno.writeFile(files.truncated, jpegA.subarray(0, jpegA.length >> 1));
const corrupt = jpegA.slice();
corrupt.set([0, 0], findMarker(corrupt, 0xc0) + 5); // frame height 0
await Deno.writeFile(files.corrupt, corrupt);
await Deno.writeFile(
  files.unsupported,
  modelBytes({
    nodes: [node("LRN", ["x"], ["y"], [attr.int("size", 3)])],
    inputs: [tensorInfo("x", [1, 3, 8, 8])],
    outputs: [tensorInfo("y", [1, 3, 8, 8])],
  }),
);
await Deno.writeFile(files.notOnnx, new Uint8Array([1, 2, 3, 4, 5]));

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** Runs the CLI; `env` adds to a clean environment whose cache is the test's. */
async function classify(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      // The permissions of `deno task classify`, with the network narrowed to 127.0.0.1.
      "--allow-env=RESIN_CACHE,XDG_CACHE_HOME,HOME,RESIN_MODEL_MIRROR",
      "--allow-net=127.0.0.1",
      "classify.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { RESIN_CACHE: cache, RESIN_MODEL_MIRROR: "", NO_COLOR: "1", ...env },
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** The JSON the CLI prints for one image. */
interface JsonResult {
  image: string;
  backend: string;
  model: string;
  top: { index: number; label: string | null; probability: number }[];
}

/** Runs the CLI with `--json`, asserting success, and returns the parsed results. */
async function classifyJson(args: string[], env?: Record<string, string>): Promise<JsonResult[]> {
  const { code, stdout, stderr } = await classify([...args, "--json"], env);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

Deno.test("classify prints a table of the top classes per image", async () => {
  const { code, stdout, stderr } = await classify([
    files.a,
    files.b,
    "--model",
    tinyDir,
    "--top",
    "3",
    "--backend",
    "cpu",
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  const [first, second] = stdout.trimEnd().split("\n\n");
  for (const [table, path] of [[first, files.a], [second, files.b]]) {
    const lines = table.split("\n");
    assert.equal(lines[0], `${path} (tiny, cpu)`);
    assert.match(lines[1], /^ {2}# {2}class {2}label +probability$/);
    assert.equal(lines.length, 5, table);
    lines.slice(2).forEach((line, i) => {
      const label = `(${LABELS.join("|")})`;
      assert.match(line, new RegExp(`^ {2}${i + 1} +[0-3] {2}${label} +\\d{1,3}\\.\\d\\d%$`));
    });
  }
});

Deno.test("classify --json prints image, backend, model and the ranked classes", async () => {
  const results = await classifyJson([
    files.a,
    files.b,
    files.a,
    "--model",
    tinyDir,
    "--top",
    "2",
    "--batch",
    "2",
    "--backend",
    "cpu",
  ]);
  const decoded = [jpegA, jpegB, jpegA].map((bytes) => decodeImage(bytes));
  const expected = expectedProbabilities(imagesToTensor(decoded, RECIPE));
  assert.equal(results.length, 3);
  results.forEach((result, i) => {
    assert.deepEqual(Object.keys(result), ["image", "backend", "model", "top"]);
    assert.equal(result.image, [files.a, files.b, files.a][i]);
    assert.equal(result.backend, "cpu");
    assert.equal(result.model, "tiny");
    const order = Array.from(expected[i].keys()).sort((x, y) => expected[i][y] - expected[i][x]);
    assert.deepEqual(
      result.top.map((c) => Object.keys(c)),
      [["index", "label", "probability"], ["index", "label", "probability"]],
    );
    assert.deepEqual(result.top.map((c) => c.index), order.slice(0, 2));
    assert.deepEqual(result.top.map((c) => c.label), order.slice(0, 2).map((k) => LABELS[k]));
    assertClose(
      result.top.map((c) => c.probability),
      order.slice(0, 2).map((k) => expected[i][k]),
      TOLERANCES.f32Kernel,
      result.image,
    );
  });
});

Deno.test({
  name: "classify --backend gpu runs on the GPU and agrees with the CPU, --f16 within 1e-2",
  ignore: !HAS_GPU,
  fn: async () => {
    const args = [files.a, files.b, "--model", tinyDir, "--top", "4"];
    const gpu = await classifyJson([...args, "--backend", "gpu"]);
    const cpu = await classifyJson([...args, "--backend", "cpu"]);
    const f16 = await classifyJson([...args, "--backend", "gpu", "--f16"]);
    f16.forEach((result, i) => {
      assert.equal(result.top[0].index, cpu[i].top[0].index, result.image);
      assert.ok(
        Math.abs(result.top[0].probability - cpu[i].top[0].probability) < 1e-2,
        `${result.image}: ${result.top[0].probability} vs ${cpu[i].top[0].probability}`,
      );
    });
    assert.deepEqual(gpu.map((r) => r.backend), ["gpu", "gpu"]);
    gpu.forEach((result, i) => {
      assert.deepEqual(result.top.map((c) => c.index), cpu[i].top.map((c) => c.index));
      assertClose(
        result.top.map((c) => c.probability),
        cpu[i].top.map((c) => c.probability),
        TOLERANCES.f32Kernel,
        result.image,
      );
    });
  },
});

Deno.test("classify fails with one line on stderr and its exit code for every bad input", async () => {
  const usage = String.raw` Usage: deno run -A classify\.ts IMAGE\.\.\. \[--model NAME\|DIR`;
  const model = ["--model", tinyDir, "--backend", "cpu"];
  // `fetches`: a registry fetch is tried, whose status lines come before the error line.
  const cases: { args: string[]; code: number; stderr: string | RegExp; fetches?: true }[] = [
    { args: [], code: 2, stderr: new RegExp(`^classify: no image given\\.${usage}`) },
    {
      args: [files.a, "--colour"],
      code: 2,
      stderr: new RegExp(`^classify: unknown option "--colour"\\.${usage}`),
    },
    { args: [files.a, "--top", "0"], code: 2, stderr: /^classify: --top must be a positive/ },
    { args: [files.a, "--top", "2x"], code: 2, stderr: /^classify: --top .* got "2x"\./ },
    {
      args: [files.a, "--batch", "-1"],
      code: 2,
      stderr: /^classify: --batch needs a value; write --batch=VALUE for one starting with "-"\. U/,
    },
    { args: [files.a, "--batch=-1"], code: 2, stderr: /^classify: --batch must be a positive/ },
    { args: [files.a, "--batch"], code: 2, stderr: /^classify: Option '--batch <value>' arg/ },
    { args: [files.a, "--json=1"], code: 2, stderr: /^classify: Option '--json' does not take/ },
    { args: [files.a, "--backend", "tpu"], code: 2, stderr: /^classify: --backend must be auto,/ },
    {
      args: [files.missing, ...model],
      code: 1,
      stderr: `classify: ${files.missing}: file not found`,
    },
    { args: [dir, ...model], code: 1, stderr: `classify: ${dir}: is a directory` },
    {
      args: [files.text, ...model],
      code: 1,
      stderr: `classify: ${files.text}: Image data is not a JPEG or PNG image (it starts with ` +
        `bytes 6e 6f 74 20 61 6e 20 69)`,
    },
    {
      args: [files.truncated, ...model],
      code: 1,
      stderr: new RegExp(`^classify: ${files.truncated}: Truncated JPEG: the data ends at byte`),
    },
    {
      args: [files.corrupt, ...model],
      code: 1,
      stderr: `classify: ${files.corrupt}: Corrupt JPEG: frame header gives a size of 23x0`,
    },
    {
      args: [files.a, "--model", files.unsupported],
      code: 1,
      stderr: new RegExp(`^classify: Cannot convert "${files.unsupported}": .*LRN`),
    },
    {
      args: [files.a, "--model", files.notOnnx],
      code: 1,
      stderr: new RegExp(`^classify: Cannot convert "${files.notOnnx}": `),
    },
    {
      args: [files.a, "--model", join(dir, "none.onnx")],
      code: 1,
      stderr: `classify: Model file "${join(dir, "none.onnx")}" not found`,
    },
    {
      args: [files.a, "--model", files.text],
      code: 1,
      stderr:
        `classify: Model "${files.text}" is a file but not an .onnx file; pass a model folder`,
    },
    {
      args: [files.a, "--model", "resnet9000"],
      code: 1,
      stderr:
        /^classify: Model "resnet9000" is not a model folder, an .onnx file or a registry name; registry models: resnet18-v1-7, /,
    },
    {
      args: [files.a, "--model", "mlperf-tiny-resnet8"],
      code: 1,
      stderr:
        'classify: Model "mlperf-tiny-resnet8" is a tflite file, which resin cannot convert yet',
    },
    {
      args: [files.a, "--model", "imagenet-labels"],
      code: 1,
      stderr: 'classify: "imagenet-labels" is a label list, not a model',
    },
    {
      args: [files.a, "--model", noRecipeDir],
      code: 1,
      stderr: `classify: Model "tiny" (${noRecipeDir}) has no preprocess recipe in its manifest, ` +
        `so images cannot be prepared for it`,
    },
    {
      // The default model, with an empty mirror and no network: it cannot be fetched.
      args: [files.a, "--mirror", emptyMirror],
      code: 1,
      fetches: true,
      stderr:
        /^classify: Cannot get the default model "resnet50-v1-12": Download of https:\/\/github\.com\/onnx\/models\/\S+ failed: .*\. Put resnet50-v1-12\.onnx and imagenet_synset\.txt in a mirror folder \(--mirror DIR or RESIN_MODEL_MIRROR\), or pass --model/,
    },
    {
      args: [files.a, "--model", "resnet18-v1-7", "--mirror", join(dir, "no_such_mirror")],
      code: 1,
      fetches: true,
      stderr:
        /^classify: Cannot get model "resnet18-v1-7": Mirror directory ".*no_such_mirror" does not exist\./,
    },
  ];
  for (const { args, code, stderr: message, fetches } of cases) {
    const what = `classify ${args.join(" ")}`;
    const { code: actual, stdout, stderr } = await classify(args);
    assert.equal(actual, code, `${what}: ${stderr}`);
    assert.equal(stdout, "", what);
    const lines = stderr.trimEnd().split("\n");
    if (!fetches) assert.equal(lines.length, 1, `${what}: ${stderr}`);
    const last = lines.at(-1)!;
    if (typeof message === "string") assert.equal(last, message, what);
    else assert.match(last, message, what);
  }
});

Deno.test("classify reports each unreadable image and still classifies the others", async () => {
  const { code, stdout, stderr } = await classify([
    files.missing,
    files.a,
    files.text,
    "--model",
    tinyDir,
    "--backend",
    "cpu",
    "--json",
  ]);
  assert.equal(code, 1);
  const lines = stderr.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.split(": ").slice(0, 2).join(": ")), [
    `classify: ${files.missing}`,
    `classify: ${files.text}`,
  ]);
  const results: JsonResult[] = JSON.parse(stdout);
  assert.deepEqual(results.map((r) => r.image), [files.a]);
});

/** Top-1 class of each row of an `[N, classes]` output. */
function argmaxRows(data: ArrayLike<number>, rows: number): number[] {
  const width = data.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let i = 1; i < width; i++) if (data[r * width + i] > data[r * width + best]) best = i;
    return best;
  });
}

/** onnxruntime's top-1 class for each image, fed one at a time. */
async function ortTop1(model: string, images: RgbImage[], recipe: ImagePreprocess) {
  // Severity 3: errors only (the caffe2 model's initializers-as-inputs warn per tensor).
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  try {
    const top1: number[] = [];
    for (const image of images) {
      const input: Tensor = imagesToTensor([image], recipe);
      const feeds = {
        [session.inputNames[0]]: new ort.Tensor("float32", input.data as Float32Array, input.shape),
      };
      const output = (await session.run(feeds))[session.outputNames[0]];
      top1.push(...argmaxRows(output.data as Float32Array, 1));
    }
    return top1;
  } finally {
    await session.release();
  }
}

/** The labelled photos of ../shared/images, in labels.tsv order. */
async function photoPaths(): Promise<string[]> {
  const tsv = await Deno.readTextFile(join(IMAGES, "labels.tsv"));
  return tsv.trimEnd().split("\n").map((line) => join(IMAGES, line.split("\t")[0]));
}

/**
 * Asserts that the CLI's top-1 class equals onnxruntime's for `model` on `paths`; the CLI
 * converts the .onnx file itself with the recipe the test states, `recipe`.
 */
async function compareTop1(model: string, paths: string[], recipe: ImagePreprocess, batch: number) {
  const env = { RESIN_MODEL_MIRROR: join(SHARED, "models") };
  const args = ["--model", model, "--backend", "cpu", "--batch", String(batch), "--top", "1"];
  const results = await classifyJson([...paths, ...args], env);
  const images = await Promise.all(paths.map(async (p) => decodeImage(await Deno.readFile(p))));
  const expected = await ortTop1(model, images, recipe);
  const labels = parseSynset(
    await Deno.readTextFile(join(SHARED, "models", "imagenet_synset.txt")),
  );
  const mismatches = results.filter((r, i) => r.top[0].index !== expected[i]);
  assert.deepEqual(
    mismatches.map((r) => r.image),
    [],
    `${mismatches.length} of ${paths.length} photos differ from onnxruntime`,
  );
  results.forEach((r, i) => assert.equal(r.top[0].label, labels[expected[i]], r.image));
}

/** The ImageNet recipe for a 32x32 input, as the CLI derives it: shorter side 37, crop 32. */
const TINY_RECIPE: ImagePreprocess = {
  ...PREPROCESS_PRESETS.imagenet,
  resize: { mode: "shorter_side", size: 37, filter: "bilinear" },
  crop: { width: 32, height: 32 },
};

for (
  const [file, batch] of [
    ["resnet18-v1-7-tiny-synth.onnx", 16],
    ["resnet50-v2-7-tiny-synth.onnx", 16],
    // Softmax output, fixed batch 1: the probabilities path.
    ["resnet50-caffe2-v1-9-tiny-synth.onnx", 1],
  ] as const
) {
  Deno.test({
    name: `classify's top-1 equals onnxruntime's on every photo for ${file} (needs ../shared)`,
    ignore: !HAS_SHARED,
    fn: async () => compareTop1(join(ZOO, file), await photoPaths(), TINY_RECIPE, batch),
  });
}

Deno.test({
  name: "classify's top-1 equals onnxruntime's for the full-size resnet18-v1-7-synth " +
    "(needs ../shared; made on demand by make_models.py)",
  ignore: !HAS_SHARED || FULL_SIZE_UNAVAILABLE !== undefined,
  fn: async () => {
    const paths = (await photoPaths()).filter((_, i) => i % 40 === 0);
    const model = await zooModel("resnet18-v1-7");
    await compareTop1(model, paths, PREPROCESS_PRESETS.imagenet, 4);
  },
});

Deno.test({
  name: "classify converts an .onnx file once and reuses the cached conversion (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const ownCache = join(dir, "own_cache");
    const model = join(ZOO, "resnet18-v2-7-tiny-synth.onnx");
    const args = [files.a, "--model", model, "--backend", "cpu", "--json"];
    const env = { RESIN_CACHE: ownCache, RESIN_MODEL_MIRROR: join(SHARED, "models") };
    const first = await classify(args, env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /resnet18-v2-7-tiny-synth: converted .* into .*own_cache\/onnx\//);
    const second = await classify(args, env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, "");
    assert.equal(second.stdout, first.stdout);
  },
});
