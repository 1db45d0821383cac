/**
 * Runs a converted model on TensorProto inputs and writes its outputs as TensorProtos.
 *
 * ```sh
 * deno task infer --model DIR --input x.pb [--input y.pb] --out y.pb [--backend auto|gpu|cpu]
 * ```
 *
 * Inputs are matched to the model's inputs by their TensorProto name, the others in order;
 * one `--out` per model output, in order. The batch size is the leading dim of the first
 * input whose batch is symbolic. Errors are one line on stderr and exit code 1.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { parseArgs } from "node:util";
import type { Graph, Tensor } from "../src/graph/types.ts";
import { createSession } from "../src/executor/session.ts";
import { decodeTensorPb, encodeTensorPb } from "../src/onnx/tensor_pb.ts";
import { loadModelFromDir } from "../src/weights/load_file.ts";

const USAGE = "usage: deno task infer --model DIR --input x.pb [--input y.pb] --out y.pb " +
  "[--backend auto|gpu|cpu]";

/** Matches decoded `.pb` tensors to the graph's inputs: by name first, then in order. */
export function matchInputs(
  graph: Graph,
  files: { path: string; name: string; tensor: Tensor }[],
): Record<string, Tensor> {
  const names = graph.inputs.map((i) => i.name);
  if (files.length !== names.length) {
    throw new Error(
      `The model has ${names.length} input(s) (${names.join(", ")}) but ${files.length} ` +
        `--input file(s) were given`,
    );
  }
  const matched: Record<string, Tensor> = {};
  const rest = files.filter((f) => {
    if (!names.includes(f.name) || matched[f.name]) return true;
    matched[f.name] = f.tensor;
    return false;
  });
  const free = names.filter((n) => !matched[n]);
  rest.forEach((f, i) => (matched[free[i]] = f.tensor));
  return matched;
}

/** The batch size the inputs imply: the leading dim of the first input with a symbolic batch. */
export function batchOf(graph: Graph, inputs: Record<string, Tensor>): number {
  const symbolic = graph.inputs.find((i) => typeof i.shape[0] === "string");
  return symbolic ? inputs[symbolic.name].shape[0] ?? 1 : 1;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      input: { type: "string", multiple: true },
      out: { type: "string", multiple: true },
      backend: { type: "string", default: "auto" },
    },
    strict: true,
  });
  const { model: dir, input = [], out = [], backend } = values;
  if (!dir || input.length === 0 || out.length === 0) throw new Error(USAGE);
  if (backend !== "auto" && backend !== "gpu" && backend !== "cpu") {
    throw new Error(`--backend must be auto, gpu or cpu, got "${backend}"`);
  }
  const model = await loadModelFromDir(dir);
  const files = await Promise.all(input.map(async (path) => {
    try {
      return { path, ...decodeTensorPb(await Deno.readFile(path)) };
    } catch (err) {
      throw new Error(`${path}: ${errorMessage(err)}`);
    }
  }));
  const inputs = matchInputs(model.graph, files);
  const outputNames = model.graph.outputs.map((o) => o.name);
  if (out.length !== outputNames.length) {
    throw new Error(
      `The model has ${outputNames.length} output(s) (${outputNames.join(", ")}); give one ` +
        `--out per output, ${out.length} given`,
    );
  }
  const session = await createSession(model, { backend, batch: batchOf(model.graph, inputs) });
  try {
    const start = performance.now();
    const outputs = await session.run(inputs);
    const ms = performance.now() - start;
    await Promise.all(
      outputNames.map((name, i) => Deno.writeFile(out[i], encodeTensorPb(name, outputs[name]))),
    );
    const where = session.adapter && session.backend === "gpu" ? ` (${session.adapter})` : "";
    const why = session.fallbackReason ? `; ${session.fallbackReason}` : "";
    console.error(`infer: ran on ${session.backend}${where} in ${ms.toFixed(1)} ms${why}`);
  } finally {
    session.dispose();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(`infer: ${errorMessage(err).split("\n")[0]}`);
    Deno.exit(1);
  }
}
