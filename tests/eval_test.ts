import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSession, type SessionOptions } from "../src/executor/session.ts";
import { decodeImage } from "../src/image/decode.ts";
import { imagesToTensor } from "../src/image/preprocess.ts";
import { assertClose, relativeL2 } from "../src/testing/tolerance.ts";
import { PREPROCESS_PRESETS } from "../src/weights/preprocess.ts";
import {
  EvalProgress,
  loadEvalModel,
  parseLabels,
  parseReference,
  resolveRecipe,
  runEval,
} from "../tools/eval.ts";
import type { StatusSink } from "../tools/model_cache.ts";

const EVAL = fileURLToPath(new URL("../tools/eval.ts", import.meta.url));
const SHARED = fileURLToPath(new URL("../../shared/", import.meta.url));
const CIFAR_MODELS = join(SHARED, "models", "cifar10");
const CIFAR_IMAGES = join(SHARED, "images", "cifar10");
const LABELS = join(CIFAR_IMAGES, "labels.tsv");
const PREDICTIONS = join(CIFAR_MODELS, "predictions.tsv");
const RESNET20 = join(CIFAR_MODELS, "resnet20-cifar10.onnx");
const HAS_SHARED = await Deno.stat(RESNET20).then((s) => s.isFile, () => false);
const HAS_GPU = await navigator.gpu?.requestAdapter().then((a) => a !== null, () => false);

/** Distiller's CIFAR-10 normalisation, (v/255 - 0.5) / 0.5, over the cifar10 preset. */
const HALF = '{"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]}';

/** A sink that records what is written. */
function recordingSink(terminal: boolean): StatusSink & { text: string } {
  return {
    terminal,
    text: "",
    write(text) {
      this.text += text;
    },
  };
}

/** Top-1 hits of onnxruntime's predictions (column `column`) on the first `n` images. */
function onnxruntimeTop1(column: string, n: number): number {
  const { classes } = parseReference(Deno.readTextFileSync(PREDICTIONS), PREDICTIONS, "", column);
  const labels = parseLabels(Deno.readTextFileSync(LABELS), LABELS).slice(0, n);
  return labels.filter(({ file, label }) => classes.get(file) === label).length;
}

Deno.test("parseLabels reads CIFAR and ImageNet style lines and rejects bad ones", () => {
  assert.deepEqual(parseLabels("a.png\t3\tcat\r\nb.JPEG\t258\tn02111889\tSamoyed\n\n", "l"), [
    { file: "a.png", label: 3 },
    { file: "b.JPEG", label: 258 },
  ]);
  assert.throws(() => parseLabels("a.png\t3\nb.png\tdog\n", "l.tsv"), /l.tsv line 2: expected/);
  assert.throws(() => parseLabels("\n", "l.tsv"), /l.tsv lists no images/);
});

Deno.test("parseReference picks the named column, the only one, or the model's", () => {
  const table = "# filename\tlabel\tresnet20\tresnet20b_distiller\na.png\t3\t5\t6\n";
  const pick = (model: string, column?: string) => {
    const { column: chosen, classes } = parseReference(table, "p.tsv", model, column);
    return [chosen, classes.get("a.png")];
  };
  assert.deepEqual(pick("resnet20-cifar10"), ["resnet20", 5]);
  assert.deepEqual(pick("ResNet20b-Distiller-CIFAR10"), ["resnet20b_distiller", 6]);
  assert.deepEqual(pick("anything", "label"), ["label", 3]);
  assert.deepEqual(parseReference("a.png\t7\n", "p.tsv", "m").classes.get("a.png"), 7);
  assert.throws(
    () => pick("mobilenet"),
    /p.tsv has no column matching model "mobilenet"; pass --reference-column with one of: resnet20, resnet20b_distiller/,
  );
  assert.throws(() => pick("m", "nope"), /has no column "nope"/);
  assert.throws(
    () => parseReference("a.png\tx\n", "p.tsv", "m"),
    /p.tsv data line 1: column "class" is "x", not a class index/,
  );
});

Deno.test("resolveRecipe applies presets and JSON overrides in order", () => {
  const cifar = PREPROCESS_PRESETS.cifar10;
  assert.deepEqual(resolveRecipe(undefined, ["cifar10"]), cifar);
  assert.deepEqual(resolveRecipe(cifar, [HALF]), {
    ...cifar,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  });
  assert.deepEqual(resolveRecipe(cifar, [HALF, "imagenet"]), PREPROCESS_PRESETS.imagenet);
  assert.equal(resolveRecipe(undefined, []), undefined);
  assert.throws(() => resolveRecipe(cifar, ["[1]"]), /--preprocess "\[1\]" is neither a preset/);
});

Deno.test("EvalProgress redraws one line on a terminal and logs every 10 % elsewhere", () => {
  const log = recordingSink(false);
  const progress = new EvalProgress(40, log);
  for (const done of [3, 4, 9, 40]) progress.update(done);
  progress.finish();
  assert.deepEqual(log.text.split("\n").map((l) => l.replace(/, [\d.]+ images\/s/, "")), [
    "eval: 10% (4/40 images)",
    "eval: 22% (9/40 images)",
    "eval: 100% (40/40 images)",
    "",
  ]);
  const tty = recordingSink(true);
  const bar = new EvalProgress(4, tty);
  for (const done of [1, 4]) bar.update(done);
  bar.finish();
  assert.match(tty.text, /^\reval \[#####\.{15}\] 1\/4 {2}25% .*\reval \[#{20}\] 4\/4 100% .*\n$/);
});

/**
 * resin's ResNet-20 logits on the first 20 CIFAR images in a session with `options`, and
 * onnxruntime's (../shared/models/cifar10/reference_first20.json), one row per image.
 */
async function resnet20Logits(options: SessionOptions) {
  const reference = JSON.parse(
    await Deno.readTextFile(join(CIFAR_MODELS, "reference_first20.json")),
  );
  const images = await Promise.all(
    (reference.images as string[]).map(async (f) =>
      decodeImage(await Deno.readFile(join(CIFAR_IMAGES, f)))
    ),
  );
  const session = await createSession(await loadEvalModel(RESNET20), {
    ...options,
    batch: images.length,
  });
  const { logits } = await session.run({
    input: imagesToTensor(images, PREPROCESS_PRESETS.cifar10),
  });
  session.dispose();
  const expected = reference.onnx["resnet20-cifar10.onnx"].logits as number[][];
  return { actual: logits.data as Float32Array, expected };
}

Deno.test({
  name:
    "resin's ResNet-20 logits match onnxruntime's on the first 20 CIFAR images (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const { actual, expected } = await resnet20Logits({ backend: "cpu" });
    // onnxruntime sums in another order: 1e-5 measured on logits up to ~25, so 1e-4 bounds it.
    assertClose(actual, expected.flat(), { atol: 1e-4, rtol: 0 }, "ResNet-20 logits");
  },
});

Deno.test({
  name: "resin's ResNet-20 logits with f16 storage on the GPU stay within 0.1 of onnxruntime's " +
    "and rank the same class first on the first 20 CIFAR images (needs ../shared)",
  ignore: !HAS_SHARED || !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { actual, expected } = await resnet20Logits({ backend: "gpu", gpuStorage: "f16" });
    // Measured: 0.024 at most (logits up to 33); f32 storage: 1.1e-5.
    assertClose(actual, expected.flat(), { atol: 0.1, rtol: 0 }, "ResNet-20 f16 logits");
    assert.ok(relativeL2(actual, expected.flat()) > 1e-5, "f16 storage changed nothing");
    const argmax = (row: ArrayLike<number>) =>
      Array.prototype.indexOf.call(row, Math.max(...Array.from(row)));
    expected.forEach((row, i) => {
      assert.equal(argmax(actual.subarray(i * 10, i * 10 + 10)), argmax(row), `image ${i}`);
    });
  },
});

const EVAL_RUNS = [
  { backend: "cpu", gpuStorage: "f32" },
  { backend: "gpu", gpuStorage: "f32" },
  { backend: "gpu", gpuStorage: "f16" },
] as const;

for (const { backend, gpuStorage } of EVAL_RUNS) {
  Deno.test({
    name: `eval of ResNet-20 reproduces onnxruntime's predictions on 100 CIFAR images on the ` +
      `${backend}${gpuStorage === "f16" ? " with f16 storage" : ""} (needs ../shared)`,
    ignore: !HAS_SHARED || (backend === "gpu" && !HAS_GPU),
    // A GPU session keeps the WebGPU runtime's resources alive after it is disposed.
    sanitizeResources: backend === "cpu",
    sanitizeOps: backend === "cpu",
    fn: async () => {
      const report = await runEval({
        model: RESNET20,
        images: CIFAR_IMAGES,
        labels: LABELS,
        reference: PREDICTIONS,
        preprocess: ["cifar10"],
        backend,
        gpuStorage,
        limit: 100,
        progress: recordingSink(false),
      });
      assert.equal(report.backend, backend);
      assert.equal(report.gpuStorage, gpuStorage === "f16" ? "f16" : undefined);
      assert.equal(report.images, 100);
      assert.equal(report.reference?.column, "resnet20");
      assert.deepEqual(report.reference?.disagreements, []);
      assert.equal(report.reference?.agree, 100);
      assert.equal(report.top1.correct, onnxruntimeTop1("resnet20", 100));
      assert.ok(report.top5.correct >= report.top1.correct && report.top5.correct <= 100);
    },
  });
}

Deno.test({
  name: "eval of the Distiller ResNet-20 with its recipe override agrees with onnxruntime " +
    "(needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const report = await runEval({
      model: join(CIFAR_MODELS, "resnet20b-distiller-cifar10.onnx"),
      images: CIFAR_IMAGES,
      labels: LABELS,
      reference: PREDICTIONS,
      preprocess: ["cifar10", HALF],
      backend: "cpu",
      batch: 7,
      limit: 50,
      progress: recordingSink(false),
    });
    assert.equal(report.reference?.column, "resnet20b_distiller");
    assert.equal(report.reference?.agree, 50);
    assert.equal(report.top1.correct, onnxruntimeTop1("resnet20b_distiller", 50));
  },
});

/** Runs tools/eval.ts as the task does; returns exit code, stdout and stderr. */
async function evalCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", EVAL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test({
  name: "eval CLI prints one JSON report, and one-line errors with exit code 1 (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const base = ["--model", RESNET20, "--images", CIFAR_IMAGES, "--labels", LABELS];
    const ok = await evalCli([
      ...base,
      ...["--preprocess", "cifar10", "--reference", PREDICTIONS, "--backend", "cpu"],
      ...["--limit", "10", "--json"],
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.images, 10);
    assert.equal(report.reference.agree, 10);
    assert.match(ok.stderr, /^eval: 100% \(10\/10 images, [\d.]+ images\/s\)\n$/);

    const dir = await Deno.makeTempDir({ prefix: "resin_eval_" });
    try {
      const badLabels = join(dir, "labels.tsv");
      await Deno.writeTextFile(badLabels, "test_0000_cat.png\tcat\n");
      const missingImage = join(dir, "missing.tsv");
      await Deno.writeTextFile(missingImage, "nowhere.png\t1\n");
      const cases: [string[], RegExp][] = [
        [["--model", RESNET20], /^eval: usage: deno task eval --model/],
        [[...base, "--backend", "tpu"], /--backend must be auto, gpu or cpu, got "tpu"/],
        [[...base, "--limit", "0"], /--limit must be a positive integer, got "0"/],
        [[...base, "--frobnicate"], /Unknown option '--frobnicate'/],
        [base, /Model "resnet20-cifar10" has no preprocessing recipe; pass --preprocess/],
        [[...base, "--preprocess", "imagenet"], /recipe does not suit .* recipe makes 224x224/],
        [[...base, "--preprocess", "{"], /--preprocess "\{" is neither a preset/],
        [
          [
            ...base,
            "--preprocess",
            "cifar10",
            "--reference",
            PREDICTIONS,
            "--reference-column",
            "x",
          ],
          /has no column "x"; pass --reference-column with one of: resnet20, resnet32/,
        ],
        [[...base.slice(0, 4), "--labels", badLabels], /labels.tsv line 1: expected/],
        [
          [...base.slice(0, 4), "--labels", missingImage, "--preprocess", "cifar10"],
          /Cannot read image .*nowhere.png/,
        ],
        [
          ["--model", join(dir, "none"), "--images", dir, "--labels", missingImage],
          /Model folder ".*none" has no manifest.json/,
        ],
      ];
      for (const [args, error] of cases) {
        const { code, stdout, stderr } = await evalCli(args);
        assert.equal(code, 1, `${args.join(" ")}: ${stderr}`);
        assert.equal(stdout, "");
        assert.match(stderr, /^eval: [^\n]*\n$/, args.join(" "));
        assert.match(stderr, error);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
