/**
 * Tests of the model cache and `deno task fetch`. The CLI runs as a subprocess that may only
 * reach 127.0.0.1, and downloads come from a local `Deno.serve`: no test contacts a real host.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findEntry, type ModelEntry, REGISTRY } from "../src/registry/models.ts";
import { seededRandom } from "../src/testing/random.ts";
import { loadModelFromDir } from "../src/weights/load_file.ts";
import { sha256Hex } from "../src/weights/sha256.ts";
import {
  DownloadProgress,
  ensureModel,
  findInMirror,
  type StatusSink,
} from "../tools/model_cache.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MODELS = fileURLToPath(new URL("../../shared/models/", import.meta.url));
const HAS_SHARED = await Deno.stat(MODELS).then(() => true, () => false);

function randomBytes(seed: number, length: number): Uint8Array {
  const rand = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(rand() * 256));
}

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();
}

/** Captures status text as a non-terminal (or terminal) sink would receive it. */
function captureStatus(terminal = false): StatusSink & { text: string } {
  return {
    terminal,
    text: "",
    write(text) {
      this.text += text;
    },
  };
}

/** Runs `tools/fetch.ts` in a subprocess that can reach 127.0.0.1 only. */
async function runFetch(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net=127.0.0.1",
      "tools/fetch.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { RESIN_MODEL_MIRROR: "", RESIN_CACHE: "", NO_COLOR: "1", ...env },
  });
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Serves `handler` on 127.0.0.1 (a free port) while `fn` runs. */
async function withServer(
  handler: (request: Request) => Response,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** A response body that delivers `bytes` in `pieces` chunks. */
function chunked(bytes: Uint8Array, pieces: number): ReadableStream<Uint8Array> {
  const step = Math.ceil(bytes.length / pieces);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + step));
      offset += step;
    },
  });
}

/** A registry entry for a file served at `base`. */
function servedEntry(base: string, size: number, sha256: string | undefined): ModelEntry {
  return {
    name: "tiny-test",
    file: "tiny.tflite",
    url: `${base}/models/tiny.tflite`,
    size,
    sha256,
    format: "tflite",
    preprocess: "none",
    labels: "cifar10",
    description: "served by the test",
  };
}

/** A temp cache and an empty mirror directory for one test. */
async function tempDirs(): Promise<{ cache: string; mirror: string; remove(): Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "resin-fetch-test-" });
  const mirror = join(root, "mirror");
  await Deno.mkdir(mirror);
  return {
    cache: join(root, "cache"),
    mirror,
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("download streams with progress, verifies, caches, and hits the cache next time", async () => {
  const bytes = randomBytes(1, 50_001);
  const sha = await sha256Hex(bytes);
  const dirs = await tempDirs();
  let requests = 0;
  try {
    await withServer(() => {
      requests++;
      return new Response(chunked(bytes, 25));
    }, async (base) => {
      const entry = servedEntry(base, bytes.length, sha);
      const options = { cacheDir: dirs.cache, mirror: dirs.mirror, registry: [entry] };
      const status = captureStatus();
      const dir = await ensureModel(entry.name, { ...options, status });
      assert.equal(dir, join(dirs.cache, "tiny-test"));
      assert.deepEqual(await Deno.readFile(join(dir, "tiny.tflite")), bytes);
      assert.deepEqual(await listDir(dirs.cache), ["tiny-test"]);
      assert.deepEqual(await listDir(dir), ["tiny.tflite"]);

      const lines = status.text.trimEnd().split("\n");
      assert.equal(lines[0], `tiny-test: downloading ${entry.url}`);
      assert.equal(lines.at(-1), `tiny-test: ready, ${dir}`);
      const progress = lines.slice(1, -1);
      const percents = progress.map((line) => {
        const m = /^tiny\.tflite: (\d+)% \(([\d.]+) kB \/ 50\.0 kB\)$/.exec(line);
        assert.ok(m, `progress line "${line}"`);
        return Number(m[1]);
      });
      assert.ok(percents.length >= 1 && percents.length <= 10, `${percents}`);
      assert.equal(percents.at(-1), 100);
      for (let i = 1; i < percents.length; i++) {
        assert.ok(Math.floor(percents[i] / 10) > Math.floor(percents[i - 1] / 10), `${percents}`);
      }

      const again = captureStatus();
      assert.equal(await ensureModel(entry.name, { ...options, status: again }), dir);
      assert.equal(again.text, `tiny-test: cache hit, ${dir}\n`);
      assert.equal(requests, 1);

      await Deno.writeFile(join(dir, "tiny.tflite"), randomBytes(9, bytes.length));
      const repaired = captureStatus();
      await ensureModel(entry.name, { ...options, status: repaired });
      assert.ok(repaired.text.startsWith("tiny-test: downloading"), repaired.text);
      assert.equal(requests, 2);
      assert.deepEqual(await Deno.readFile(join(dir, "tiny.tflite")), bytes);
    });
  } finally {
    await dirs.remove();
  }
});

Deno.test("a download of the wrong size or checksum is an error and leaves nothing", async () => {
  const bytes = randomBytes(2, 4097);
  const other = randomBytes(3, 4097);
  const sha = await sha256Hex(bytes);
  const served: Record<string, Uint8Array> = {
    "/long/tiny.tflite": randomBytes(2, 4098),
    "/short/tiny.tflite": bytes.slice(0, 4000),
    "/corrupt/tiny.tflite": other,
  };
  const dirs = await tempDirs();
  try {
    await withServer((request) => {
      const body = served[new URL(request.url).pathname];
      return body ? new Response(chunked(body, 3)) : new Response("no", { status: 404 });
    }, async (base) => {
      const cases: [string, string][] = [
        [
          `${base}/long/tiny.tflite`,
          `Size mismatch for tiny.tflite from ${base}/long/tiny.tflite: expected 4097 bytes, ` +
          `got more than 4097 bytes`,
        ],
        [
          `${base}/short/tiny.tflite`,
          `Size mismatch for tiny.tflite from ${base}/short/tiny.tflite: expected 4097 bytes, ` +
          `got 4000 bytes`,
        ],
        [
          `${base}/corrupt/tiny.tflite`,
          `Checksum mismatch for tiny.tflite from ${base}/corrupt/tiny.tflite: expected sha256 ` +
          `${sha}, got ${await sha256Hex(other)}`,
        ],
        [
          `${base}/missing/tiny.tflite`,
          `Download of ${base}/missing/tiny.tflite failed: HTTP 404 Not Found`,
        ],
      ];
      for (const [url, message] of cases) {
        const entry = { ...servedEntry(base, bytes.length, sha), url };
        await assert.rejects(
          ensureModel(entry.name, {
            cacheDir: dirs.cache,
            mirror: dirs.mirror,
            registry: [entry],
            status: captureStatus(),
          }),
          { message },
        );
        assert.deepEqual(await listDir(dirs.cache), [], url);
      }
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closed = `http://127.0.0.1:${listener.addr.port}/tiny.tflite`;
      listener.close();
      const entry = { ...servedEntry(base, bytes.length, sha), url: closed };
      await assert.rejects(
        ensureModel(entry.name, {
          cacheDir: dirs.cache,
          mirror: dirs.mirror,
          registry: [entry],
          status: captureStatus(),
        }),
        (err: Error) => {
          assert.ok(err.message.startsWith(`Download of ${closed} failed: `), err.message);
          assert.match(err.message, /Connection refused/);
          return true;
        },
      );
      assert.deepEqual(await listDir(dirs.cache), []);
    });
  } finally {
    await dirs.remove();
  }
});

Deno.test("a file without a documented sha256 needs allowUnverified", async () => {
  const bytes = randomBytes(4, 1000);
  const dirs = await tempDirs();
  try {
    await withServer(() => new Response(bytes.slice()), async (base) => {
      const entry = servedEntry(base, bytes.length, undefined);
      const options = { cacheDir: dirs.cache, mirror: dirs.mirror, registry: [entry] };
      await assert.rejects(ensureModel(entry.name, { ...options, status: captureStatus() }), {
        message: "tiny-test has no documented sha256, so a download cannot be verified; pass " +
          "--allow-unverified to accept it anyway",
      });
      assert.equal(await Deno.stat(dirs.cache).catch(() => null), null);
      const status = captureStatus();
      const dir = await ensureModel(entry.name, { ...options, status, allowUnverified: true });
      assert.deepEqual(await Deno.readFile(join(dir, "tiny.tflite")), bytes);
      assert.ok(
        status.text.includes(
          `tiny-test: accepted unverified (no documented sha256; got ${await sha256Hex(bytes)})\n`,
        ),
        status.text,
      );
    });
  } finally {
    await dirs.remove();
  }
});

Deno.test("a file that does not convert is an error naming it and leaves nothing", async () => {
  const bytes = randomBytes(6, 3000);
  const dirs = await tempDirs();
  try {
    await Deno.writeFile(join(dirs.mirror, "bogus.onnx"), bytes);
    const entry: ModelEntry = {
      name: "bogus",
      file: "bogus.onnx",
      url: "http://127.0.0.1:9/bogus.onnx",
      size: bytes.length,
      sha256: await sha256Hex(bytes),
      format: "onnx",
      preprocess: "imagenet",
      labels: "cifar10",
      description: "random bytes",
    };
    await assert.rejects(
      ensureModel(entry.name, {
        cacheDir: dirs.cache,
        mirror: dirs.mirror,
        registry: [entry],
        status: captureStatus(),
      }),
      (err: Error) => {
        assert.match(err.message, /^Cannot convert bogus\.onnx: \S/);
        assert.ok(!err.message.includes("\n"), err.message);
        return true;
      },
    );
    assert.deepEqual(await listDir(dirs.cache), []);
  } finally {
    await dirs.remove();
  }
});

Deno.test("Ctrl-C during a download exits 130 and removes the partial file", async () => {
  const bytes = randomBytes(5, 200_000);
  const dirs = await tempDirs();
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { ensureModel } from "${new URL("../tools/model_cache.ts", import.meta.url).href}";
const [entry, cacheDir, mirror] = Deno.args;
await ensureModel("tiny-test", { cacheDir, mirror, registry: [JSON.parse(entry)] });
`,
    );
    // Half the file, then nothing until the client goes away.
    const stalled = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(bytes.slice(0, 100_000));
          },
        }),
      );
    await withServer(stalled, async (base) => {
      const entry = servedEntry(base, bytes.length, await sha256Hex(bytes));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, JSON.stringify(entry), dirs.cache, dirs.mirror],
        stdout: "null",
        stderr: "null",
      }).spawn();
      let interrupted = false;
      try {
        const size = await partialDownloadSize(dirs.cache);
        assert.ok(size > 0 && size <= 100_000, `partial size ${size}`);
        child.kill("SIGINT");
        interrupted = true;
        assert.equal((await child.status).code, 130);
      } finally {
        if (!interrupted) child.kill("SIGKILL");
        await child.status;
      }
      assert.deepEqual(await listDir(dirs.cache), []);
    });
  } finally {
    await Deno.remove(script);
    await dirs.remove();
  }
});

/** Polls `cache` until a staging folder holds a non-empty partial download; returns its size. */
async function partialDownloadSize(cache: string): Promise<number> {
  for (let tries = 0; tries < 600; tries++) {
    for (const name of await listDir(cache).catch(() => [])) {
      const part = join(cache, name, "tiny.tflite.part");
      const size = await Deno.stat(part).then((s) => s.size, () => 0);
      if (size > 0) return size;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`No partial download appeared in ${cache} within 30 s`);
}

Deno.test("DownloadProgress prints one line per 10 % off a terminal", () => {
  const sink = captureStatus();
  const progress = new DownloadProgress("f.onnx", 2_000_000, sink);
  for (let received = 100_000; received <= 2_000_000; received += 100_000) {
    progress.update(received);
  }
  progress.finish();
  const amounts = ["200.0 kB", "400.0 kB", "600.0 kB", "800.0 kB", "1.0 MB", "1.2 MB", "1.4 MB"]
    .concat(["1.6 MB", "1.8 MB", "2.0 MB"]);
  assert.deepEqual(
    sink.text.trimEnd().split("\n"),
    amounts.map((amount, i) => `f.onnx: ${10 * (i + 1)}% (${amount} / 2.0 MB)`),
  );
});

Deno.test("DownloadProgress redraws one terminal line per whole percent", () => {
  const sink = captureStatus(true);
  const progress = new DownloadProgress("f.onnx", 1000, sink);
  for (const received of [1, 5, 10, 11, 500, 1000]) progress.update(received);
  progress.finish();
  assert.deepEqual(sink.text.split("\r"), [
    "",
    "f.onnx [....................] 0.0 kB / 1.0 kB   0%",
    "f.onnx [....................] 0.0 kB / 1.0 kB   1%",
    "f.onnx [##########..........] 0.5 kB / 1.0 kB  50%",
    "f.onnx [####################] 1.0 kB / 1.0 kB 100%\n",
  ]);
});

Deno.test("findInMirror looks at the top level first, then one folder down", async () => {
  const dirs = await tempDirs();
  try {
    await Deno.mkdir(join(dirs.mirror, "a"));
    await Deno.mkdir(join(dirs.mirror, "b", "deeper"), { recursive: true });
    await Deno.writeTextFile(join(dirs.mirror, "b", "x.onnx"), "b");
    await Deno.writeTextFile(join(dirs.mirror, "b", "deeper", "y.onnx"), "deep");
    assert.equal(await findInMirror(dirs.mirror, "x.onnx"), join(dirs.mirror, "b", "x.onnx"));
    await Deno.writeTextFile(join(dirs.mirror, "a", "x.onnx"), "a");
    assert.equal(await findInMirror(dirs.mirror, "x.onnx"), join(dirs.mirror, "a", "x.onnx"));
    await Deno.writeTextFile(join(dirs.mirror, "x.onnx"), "top");
    assert.equal(await findInMirror(dirs.mirror, "x.onnx"), join(dirs.mirror, "x.onnx"));
    assert.equal(await findInMirror(dirs.mirror, "y.onnx"), undefined);
    const missing = join(dirs.mirror, "nope");
    await assert.rejects(findInMirror(missing, "x.onnx"), {
      message: `Mirror directory "${missing}" does not exist`,
    });
  } finally {
    await dirs.remove();
  }
});

Deno.test("fetch CLI: an unknown name exits 1 and lists the known names", async () => {
  const { code, stdout, stderr } = await runFetch(["resnet51", "--cache", "/nonexistent"]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    `fetch: Unknown model "resnet51"; known models: ${REGISTRY.map((e) => e.name).join(", ")}\n`,
  );
});

Deno.test("fetch CLI: usage errors exit 2 with one line", async () => {
  for (const args of [[], ["a", "b"], ["--list", "a"], ["--bogus", "a"]]) {
    const { code, stderr } = await runFetch(args);
    assert.equal(code, 2, `${args}`);
    assert.match(stderr, /^fetch: .*Usage: deno task fetch <name> .*\n$/, `${args}`);
  }
});

Deno.test({
  name: "fetch CLI: a TFLite model from the mirror env var is cached as the file (needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const dirs = await tempDirs();
    try {
      const env = { RESIN_MODEL_MIRROR: MODELS, RESIN_CACHE: dirs.cache };
      const entry = findEntry("mlperf-tiny-resnet8-int8");
      const dir = join(dirs.cache, entry.name);
      const mirrored = join(MODELS, "mlperf-tiny-resnet8", entry.file);
      for (const args of [[entry.name], [entry.name, "--force"]]) {
        const first = await runFetch(args, env);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(first.stdout, `${dir}\n`);
        assert.equal(
          first.stderr,
          `${entry.name}: using mirror copy ${mirrored}\n${entry.name}: ready, ${dir}\n`,
        );
        assert.deepEqual(await Deno.readFile(join(dir, entry.file)), await Deno.readFile(mirrored));
        assert.deepEqual(await listDir(dirs.cache), [entry.name]);
      }
      const hit = await runFetch([entry.name], env);
      assert.equal(hit.code, 0, hit.stderr);
      assert.equal(hit.stderr, `${entry.name}: cache hit, ${dir}\n`);
    } finally {
      await dirs.remove();
    }
  },
});

Deno.test({
  name: "fetch CLI: mobilenetv2-12-int8 converts from the mirror, then hits the cache " +
    "(needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const dirs = await tempDirs();
    try {
      const args = ["mobilenetv2-12-int8", "--cache", dirs.cache, "--mirror", MODELS];
      const dir = join(dirs.cache, "mobilenetv2-12-int8");
      const first = await runFetch(args);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, `${dir}\n`);
      assert.match(first.stderr, /mobilenetv2-12-int8: using mirror copy .*\n/);
      assert.deepEqual(await listDir(dirs.cache), ["imagenet-labels", "mobilenetv2-12-int8"]);
      assert.deepEqual(await listDir(dir), ["manifest.json", "weights.bin"]);

      const { manifest, graph } = await loadModelFromDir(dir);
      const entry = findEntry("mobilenetv2-12-int8");
      assert.equal(manifest.name, "mobilenetv2-12-int8");
      assert.equal(manifest.provenance.sha256, entry.sha256);
      assert.equal(manifest.provenance.source, "mobilenetv2-12-int8.onnx");
      assert.equal(manifest.preprocess?.scale, 1 / 255);
      assert.equal(manifest.labels?.length, 1000);
      assert.equal(manifest.labels?.[258], "Samoyed");
      assert.ok(graph.nodes.length > 0);

      const second = await runFetch(args);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, `${dir}\n`);
      assert.equal(second.stderr, `mobilenetv2-12-int8: cache hit, ${dir}\n`);

      const manifestPath = join(dir, "manifest.json");
      const stale = JSON.parse(await Deno.readTextFile(manifestPath));
      stale.provenance.sha256 = "0".repeat(64);
      await Deno.writeTextFile(manifestPath, JSON.stringify(stale));
      const rebuilt = await runFetch(args);
      assert.equal(rebuilt.code, 0, rebuilt.stderr);
      assert.match(rebuilt.stderr, /mobilenetv2-12-int8: using mirror copy .*\n/);
      assert.equal((await loadModelFromDir(dir)).manifest.provenance.sha256, entry.sha256);

      const list = await runFetch(["--list", "--cache", dirs.cache, "--mirror", MODELS]);
      assert.equal(list.code, 0, list.stderr);
      const rows = new Map(
        list.stdout.trimEnd().split("\n").map((line) => {
          const cells = line.split(/\s{2,}/);
          return [cells[0], cells];
        }),
      );
      assert.deepEqual(rows.get("name"), ["name", "size", "format", "in mirror", "cached"]);
      assert.deepEqual(rows.get("mobilenetv2-12-int8"), [
        "mobilenetv2-12-int8",
        "3.7 MB",
        "onnx",
        "yes",
        "yes",
      ]);
      assert.deepEqual(rows.get("mlperf-tiny-resnet8"), [
        "mlperf-tiny-resnet8",
        "318.1 kB",
        "tflite",
        "yes",
        "no",
      ]);
      assert.deepEqual(rows.get("resnet50-v1-7"), [
        "resnet50-v1-7",
        "102.6 MB",
        "onnx",
        "no",
        "no",
      ]);
      assert.equal(rows.size, REGISTRY.length + 1);
    } finally {
      await dirs.remove();
    }
  },
});

Deno.test({
  name: "fetch CLI: a modified mirror copy is a checksum error, exit 1, nothing cached " +
    "(needs ../shared)",
  ignore: !HAS_SHARED,
  async fn() {
    const dirs = await tempDirs();
    try {
      const bytes = await Deno.readFile(join(MODELS, "mobilenetv2-12-int8.onnx"));
      bytes[bytes.length >> 1] ^= 0x01;
      const copy = join(dirs.mirror, "mobilenetv2-12-int8.onnx");
      await Deno.writeFile(copy, bytes);
      await Deno.copyFile(
        join(MODELS, "imagenet_synset.txt"),
        join(dirs.mirror, "imagenet_synset.txt"),
      );
      const { code, stdout, stderr } = await runFetch([
        "mobilenetv2-12-int8",
        "--cache",
        dirs.cache,
        "--mirror",
        dirs.mirror,
      ]);
      assert.equal(code, 1);
      assert.equal(stdout, "");
      const lines = stderr.trimEnd().split("\n");
      assert.equal(
        lines.at(-1),
        `fetch: Checksum mismatch for mobilenetv2-12-int8.onnx from ${copy}: expected sha256 ` +
          `${findEntry("mobilenetv2-12-int8").sha256}, got ${await sha256Hex(bytes)}`,
      );
      assert.deepEqual(await listDir(dirs.cache), ["imagenet-labels"]);
    } finally {
      await dirs.remove();
    }
  },
});
