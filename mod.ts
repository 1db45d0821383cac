/**
 * resin: ResNet inference for Deno with hand-written WGSL on WebGPU and a CPU path.
 *
 * @module
 */

export type { DType, Graph, Node, Tensor, TensorType } from "./src/graph/types.ts";
export { GpuUnavailableError } from "./src/executor/gpu_device.ts";
