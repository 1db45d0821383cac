import assert from "node:assert/strict";
import { join } from "node:path";
import { randomInputs, residualGraph } from "../src/executor/_testing.ts";
import { runReference } from "../src/executor/reference.ts";
import { decodeTensorPb, encodeTensorPb } from "../src/onnx/tensor_pb.ts";
import { assertClose, TOLERANCES } from "../src/testing/tolerance.ts";
import { encodeModel } from "../src/weights/encode.ts";
import { writeModelDir } from "../src/weights/load_file.ts";

const INFER = new URL("./infer.ts", import.meta.url).pathname;

/** Runs tools/infer.ts as the task does; returns exit code and stderr. */
async function infer(args: string[]): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", INFER, ...args],
    stdout: "inherit",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

/** Writes the residual test model into a temporary folder. */
async function modelDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "resin_infer_" });
  const graph = residualGraph();
  const provenance = { source: "test", sha256: "0".repeat(64), sourceFormat: "onnx" as const };
  await writeModelDir(
    join(dir, "model"),
    await encodeModel(graph, { name: graph.name, provenance: { ...provenance, converter: "t" } }),
  );
  return dir;
}

Deno.test("infer writes the model's outputs for positional and named inputs", async () => {
  const dir = await modelDir();
  try {
    const graph = residualGraph();
    const inputs = randomInputs(graph, 2, 5);
    const expected = runReference(graph, inputs);
    await Deno.writeFile(join(dir, "unnamed.pb"), encodeTensorPb("", inputs.x));
    await Deno.writeFile(join(dir, "named.pb"), encodeTensorPb("x", inputs.x));
    for (const [input, backend] of [["unnamed.pb", "cpu"], ["named.pb", "auto"]]) {
      const outs = ["y.pb", "f.pb"].map((f) => join(dir, `${backend}_${f}`));
      const args = ["--model", join(dir, "model"), "--input", join(dir, input)];
      const { code, stderr } = await infer([
        ...args,
        "--out",
        outs[0],
        "--out",
        outs[1],
        "--backend",
        backend,
      ]);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /^infer: ran on (cpu|gpu)/);
      for (const [i, name] of ["y", "f"].entries()) {
        const { name: written, tensor } = decodeTensorPb(await Deno.readFile(outs[i]));
        assert.equal(written, name);
        assert.deepEqual(tensor.shape, expected[name].shape);
        assertClose(tensor.data, expected[name].data, TOLERANCES.f32Kernel, `${backend} ${name}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("infer fails with one line and exit code 1", async () => {
  const dir = await modelDir();
  try {
    const model = join(dir, "model");
    const x = join(dir, "x.pb");
    await Deno.writeFile(x, encodeTensorPb("x", randomInputs(residualGraph(), 1, 1).x));
    const cases: [string[], RegExp][] = [
      [["--model", model, "--input", x], /^infer: usage: deno task infer --model DIR/],
      [["--model", model, "--input", x, "--out", "a.pb"], /has 2 output\(s\) \(y, f\); give one/],
      [
        ["--model", model, "--input", x, "--out", "a", "--out", "b", "--backend", "tpu"],
        /--backend must be auto, gpu or cpu, got "tpu"/,
      ],
      [["--model", join(dir, "none"), "--input", x, "--out", "a"], /^infer: Model folder/],
      [["--model", model, "--input", model, "--out", "a"], /^infer: .*model/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await infer(args);
      assert.equal(code, 1, stderr);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.match(stderr, message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
