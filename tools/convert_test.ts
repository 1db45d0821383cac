import assert from "node:assert/strict";
import { join } from "node:path";
import { attr, floatTensor, modelBytes, node, tensorInfo } from "../src/onnx/_test_models.ts";
import { loadModelFromDir } from "../src/weights/load_file.ts";
import { PREPROCESS_PRESETS } from "../src/weights/preprocess.ts";
import { parseLabels } from "./convert.ts";

const ROOT = new URL("../", import.meta.url);
const SHARED_MODELS = new URL("../../shared/models/", import.meta.url);
const HAS_SHARED = (() => {
  try {
    return Deno.statSync(SHARED_MODELS).isDirectory;
  } catch {
    return false;
  }
})();

/** Runs the converter CLI in a child process. */
async function convert(...args: string[]): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "tools/convert.ts", ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

/** Asserts one line on stderr, prefixed "convert: ", with no stack trace. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /^convert: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

function sha256(bytes: Uint8Array): Promise<string> {
  return crypto.subtle.digest("SHA-256", bytes.slice()).then((d) =>
    Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("")
  );
}

Deno.test("labels: one per line, or the first name of each synset line", () => {
  assert.deepEqual(
    parseLabels("n01440764 tench, Tinca tinca\r\nn01443537 goldfish, Carassius auratus\n"),
    [
      "tench",
      "goldfish",
    ],
  );
  assert.deepEqual(parseLabels("airplane\n  automobile \n\nbird\n"), [
    "airplane",
    "automobile",
    "bird",
  ]);
});

Deno.test("convert writes a model folder that loads back with the same graph and weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const onnx = modelBytes({
      nodes: [
        node("Conv", ["x", "w"], ["c"], [attr.ints("pads", [1, 1, 1, 1])]),
        node("Relu", ["c"], ["y"]),
      ],
      inputs: [tensorInfo("x", ["N", 3, 224, 224])],
      outputs: [tensorInfo("y", ["N", 2, 224, 224])],
      initializers: [floatTensor("w", [2, 3, 3, 3], Array.from({ length: 54 }, (_, i) => i - 27))],
    });
    const model = join(dir, "tiny.onnx");
    await Deno.writeFile(model, onnx);
    await Deno.writeTextFile(join(dir, "labels.txt"), "n00000001 first, one\nn00000002 second\n");
    const out = join(dir, "out");
    const { code, stderr } = await convert(
      model,
      "--out",
      out,
      "--preprocess",
      "imagenet",
      "--labels",
      join(dir, "labels.txt"),
    );
    assert.equal(code, 0, stderr);
    assertOneLine(stderr, /wrote .* \(2 nodes, 1 tensors, 256 weight bytes\)/);
    const loaded = await loadModelFromDir(out);
    assert.equal(loaded.manifest.name, "tiny");
    assert.deepEqual(loaded.manifest.provenance, {
      source: "tiny.onnx",
      sha256: await sha256(onnx),
      sourceFormat: "onnx",
      opset: 13,
      producer: "resin-test 1",
      converter: "resin 0.1.0",
    });
    assert.deepEqual(loaded.manifest.preprocess, PREPROCESS_PRESETS.imagenet);
    assert.deepEqual(loaded.manifest.labels, ["first", "second"]);
    assert.deepEqual(loaded.graph.nodes.map((n) => n.op), ["Conv", "Relu"]);
    assert.deepEqual(
      Array.from(loaded.graph.initializers.get("w")!.data),
      Array.from({ length: 54 }, (_, i) => i - 27),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "convert records the shared tiny ResNet-18's sha256 and synset labels (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const { code, stderr } = await convert(
        new URL("zoo-synth/resnet18-v1-7-tiny-synth.onnx", SHARED_MODELS).pathname,
        "--out",
        out,
        "--name",
        "r18",
        "--labels",
        new URL("imagenet_synset.txt", SHARED_MODELS).pathname,
      );
      assert.equal(code, 0, stderr);
      const { manifest } = await loadModelFromDir(out);
      assert.equal(manifest.name, "r18");
      // The value MANIFEST.tsv lists for this file.
      assert.equal(
        manifest.provenance.sha256,
        "39a57504fcb7efb8e0cbe93e99d93ac9876c1562f403bad58b894a98a491c050",
      );
      assert.equal(manifest.provenance.opset, 7);
      assert.equal(manifest.provenance.producer, undefined);
      // models/README.md: line 259 of imagenet_labels.txt is Samoyed.
      assert.equal(manifest.labels![258], "Samoyed");
      assert.equal(manifest.labels!.length, 1000);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("usage errors exit with code 2 and one line on stderr", async () => {
  const cases: [string[], RegExp][] = [
    [[], /expected one model file, got 0; usage: /],
    [["a.onnx"], /--out is required/],
    [["a.onnx", "b.onnx", "--out", "x"], /expected one model file, got 2/],
    [["a.onnx", "--out", "x", "--bogus"], /Unknown option '--bogus'/],
    [
      ["a.onnx", "--out", "x", "--preprocess", "vgg"],
      /--preprocess must be one of imagenet, stm_uint8, pixels_01, cifar10 or none, got "vgg"/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await convert(...args);
    assert.equal(code, 2, `${args}: ${stderr}`);
    assertOneLine(stderr, pattern);
  }
});

Deno.test("conversion errors exit with code 1 and one line on stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const unsupported = join(dir, "foo.onnx");
    await Deno.writeFile(
      unsupported,
      modelBytes({
        opset: 12,
        nodes: [node("Foo", ["x"], ["y"], [], { name: "bar" })],
        inputs: [tensorInfo("x", [1])],
        outputs: [tensorInfo("y", [1])],
      }),
    );
    const garbage = join(dir, "garbage.onnx");
    await Deno.writeTextFile(garbage, "<html>not a model</html>");
    const cases: [string, RegExp][] = [
      [unsupported, /^convert: Unsupported op "Foo" \(domain "", opset 12\) in node "bar"$/],
      [garbage, /^convert: Not an ONNX model: /],
      [join(dir, "missing.onnx"), /No such file or directory/],
    ];
    for (const [model, pattern] of cases) {
      const { code, stderr } = await convert(model, "--out", join(dir, "out"));
      assert.equal(code, 1, stderr);
      assertOneLine(stderr, pattern);
    }
    const valid = join(dir, "relu.onnx");
    await Deno.writeFile(
      valid,
      modelBytes({
        nodes: [node("Relu", ["x"], ["y"])],
        inputs: [tensorInfo("x", [1, 4])],
        outputs: [tensorInfo("y", [1, 4])],
      }),
    );
    const { code, stderr } = await convert(
      valid,
      "--out",
      join(dir, "out"),
      "--labels",
      join(dir, "none.txt"),
    );
    assert.equal(code, 1);
    assertOneLine(stderr, /No such file or directory .*none\.txt/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
