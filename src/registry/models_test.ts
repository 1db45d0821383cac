import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../weights/sha256.ts";
import { findEntry, IMAGENET_LABELS, parseSynset, REGISTRY } from "./models.ts";

const MODELS = fileURLToPath(new URL("../../../shared/models/", import.meta.url));
const HAS_SHARED = await Deno.stat(MODELS).then(() => true, () => false);

/** The seed models and stand-ins the project brief names, typed out independently. */
const EXPECTED_NAMES = [
  "resnet18-v1-7",
  "resnet34-v1-7",
  "resnet50-v1-7",
  "resnet101-v1-7",
  "resnet152-v1-7",
  "resnet18-v2-7",
  "resnet34-v2-7",
  "resnet50-v2-7",
  "resnet101-v2-7",
  "resnet152-v2-7",
  "resnet50-v1-12",
  "resnet50-caffe2-v1-9",
  "resnet50-v1-12-int8",
  "resnet50-v1-12-qdq",
  "preresnet18_a025_pt_224",
  "preresnet18_a025_pt_224_qdq_int8",
  "mobilenetv2-12-int8",
  "shufflenet-v2-12-qdq",
  "mlperf-tiny-resnet8",
  "mlperf-tiny-resnet8-int8",
  "imagenet-labels",
];

/** The only URL prefixes the registry may use. */
const URL_PREFIXES = [
  "https://github.com/onnx/models/raw/main/validated/vision/classification/",
  "https://github.com/STMicroelectronics/stm32ai-modelzoo/raw/main/image_classification/" +
  "preresnet18_pt/Public_pretrainedmodel_public_dataset/Imagenet/preresnet18_a025_pt_224/",
  "https://github.com/mlcommons/tiny/raw/master/benchmark/training/image_classification/" +
  "trained_models/",
];

const EXTENSION = { onnx: ".onnx", tflite: ".tflite", synset: ".txt" } as const;

/** Finds `file` at the top of the mirror or one folder down. */
async function mirrorPath(file: string): Promise<string | undefined> {
  for await (const e of Deno.readDir(MODELS)) {
    if (e.isFile && e.name === file) return join(MODELS, file);
  }
  for await (const e of Deno.readDir(MODELS)) {
    if (!e.isDirectory) continue;
    const path = join(MODELS, e.name, file);
    if (await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
  }
  return undefined;
}

Deno.test("registry holds exactly the seed models, stand-ins and labels", () => {
  assert.deepEqual(REGISTRY.map((e) => e.name).sort(), [...EXPECTED_NAMES].sort());
});

Deno.test("registry names and file names are unique", () => {
  assert.equal(new Set(REGISTRY.map((e) => e.name)).size, REGISTRY.length);
  assert.equal(new Set(REGISTRY.map((e) => e.file)).size, REGISTRY.length);
});

Deno.test("every registry entry is well formed", () => {
  for (const e of REGISTRY) {
    const where = `entry "${e.name}"`;
    assert.match(e.name, /^[a-z0-9][a-z0-9_.-]*$/, where);
    assert.ok(e.file.endsWith(EXTENSION[e.format]), `${where}: file ${e.file}`);
    assert.ok(URL_PREFIXES.some((p) => e.url.startsWith(p)), `${where}: url ${e.url}`);
    const urlFile = basename(new URL(e.url).pathname);
    assert.equal(urlFile, e.format === "synset" ? "synset.txt" : e.file, where);
    assert.ok(Number.isSafeInteger(e.size) && e.size > 0, `${where}: size ${e.size}`);
    if (e.sha256 !== undefined) assert.match(e.sha256, /^[0-9a-f]{64}$/, where);
    assert.ok(e.description.length > 0, where);
    if (e.format === "synset") continue;
    assert.ok(["imagenet", "cifar10"].includes(e.labels), where);
    if (e.format === "tflite") assert.equal(e.preprocess, "none", where);
    if (e.format === "onnx") assert.notEqual(e.preprocess, "none", where);
    if (e.top1 !== undefined) assert.ok(e.top1 > 0 && e.top1 < 100, `${where}: top1 ${e.top1}`);
  }
});

Deno.test("zoo ResNets use ImageNet preprocessing, STM models their own presets", () => {
  for (const e of REGISTRY) {
    if (e.format === "synset") continue;
    const expected = e.name === "preresnet18_a025_pt_224"
      ? "pixels_01"
      : e.name === "preresnet18_a025_pt_224_qdq_int8"
      ? "stm_uint8"
      : e.format === "tflite"
      ? "none"
      : "imagenet";
    assert.equal(e.preprocess, expected, e.name);
    assert.equal(e.labels, e.format === "tflite" ? "cifar10" : "imagenet", e.name);
  }
});

Deno.test("findEntry returns entries and names the known models for an unknown name", () => {
  assert.equal(findEntry("resnet50-v1-7").file, "resnet50-v1-7.onnx");
  assert.throws(() => findEntry("resnet51"), (err: Error) => {
    assert.match(err.message, /^Unknown model "resnet51"; known models: resnet18-v1-7, /);
    for (const e of REGISTRY) assert.ok(err.message.includes(e.name));
    return true;
  });
});

Deno.test("parseSynset keeps the first name of each line and rejects nameless lines", () => {
  const text =
    "n01440764 tench, Tinca tinca\r\nn02085620 Chihuahua\n\nn02111889 Samoyed, Samoyede\n";
  assert.deepEqual(parseSynset(text), ["tench", "Chihuahua", "Samoyed"]);
  assert.throws(() => parseSynset("n01440764 tench\nn01443537\n"), {
    message: 'Synset line 2 has no class name: "n01443537"',
  });
});

Deno.test({
  name: "parseSynset of the ImageNet synset equals shared imagenet_labels.txt (needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const labels = parseSynset(await Deno.readTextFile(join(MODELS, IMAGENET_LABELS.file)));
    const expected = (await Deno.readTextFile(join(MODELS, "imagenet_labels.txt")))
      .split("\n").filter((line) => line !== "");
    assert.equal(labels.length, 1000);
    assert.deepEqual(labels, expected);
    assert.equal(labels[258], "Samoyed");
  },
});

Deno.test({
  name: "registry sha256 values equal shared SHA256SUMS (needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const sums = new Map<string, string>();
    for (const line of (await Deno.readTextFile(join(MODELS, "SHA256SUMS"))).split("\n")) {
      const [sha, path] = line.split(/\s+/);
      if (path) sums.set(basename(path), sha);
    }
    let compared = 0;
    for (const e of REGISTRY) {
      const documented = sums.get(e.file);
      if (documented === undefined) continue;
      assert.equal(e.sha256, documented, e.name);
      compared++;
    }
    assert.equal(compared, 5);
  },
});

Deno.test({
  name: "registry size and sha256 equal the shared README table (needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const readme = await Deno.readTextFile(join(MODELS, "README.md"));
    const rows = new Map<string, { size: number; sha256: string }>();
    for (const m of readme.matchAll(/^\| (\S+?\.onnx)[^|]*\| ([\d,]+) \| ([0-9a-f]{64}) \|/gm)) {
      rows.set(m[1], { size: Number(m[2].replaceAll(",", "")), sha256: m[3] });
    }
    let compared = 0;
    for (const e of REGISTRY) {
      const row = rows.get(e.file);
      if (!row) continue;
      assert.deepEqual({ size: e.size, sha256: e.sha256 }, row, e.name);
      compared++;
    }
    // Every ResNet and PreResNet entry is in the table; the stand-ins are described in prose.
    assert.equal(compared, 16);
  },
});

Deno.test({
  name: "registry size and sha256 equal the files in the shared mirror (needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const present: string[] = [];
    for (const e of REGISTRY) {
      const path = await mirrorPath(e.file);
      if (!path) continue;
      const bytes = await Deno.readFile(path);
      assert.equal(bytes.length, e.size, `${e.name}: size of ${path}`);
      assert.equal(await sha256Hex(bytes), e.sha256, `${e.name}: sha256 of ${path}`);
      present.push(`${basename(dirname(path))}/${e.name}`);
    }
    assert.deepEqual(present.sort(), [
      "mlperf-tiny-resnet8/mlperf-tiny-resnet8",
      "mlperf-tiny-resnet8/mlperf-tiny-resnet8-int8",
      "models/imagenet-labels",
      "models/mobilenetv2-12-int8",
      "models/shufflenet-v2-12-qdq",
    ]);
  },
});
