/**
 * Acquires a WebGPU adapter and device with the limits and features resin uses, and
 * explains clearly when none can be had.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";

/** An open WebGPU device and what resin knows of its adapter. */
export interface GpuContext {
  /** The adapter the device came from. */
  adapter: GPUAdapter;
  /** The device all resin work runs on. */
  device: GPUDevice;
  /** Human-readable adapter description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** True for software adapters (llvmpipe, lavapipe, WARP). */
  isFallbackAdapter: boolean;
  /** Features enabled on the device. */
  features: ReadonlySet<string>;
}

/** Raised when no usable WebGPU adapter or device exists; callers fall back to the CPU. */
export class GpuUnavailableError extends Error {
  /** Creates the error with a one-line reason. */
  constructor(reason: string) {
    super(reason);
    this.name = "GpuUnavailableError";
  }
}

/** Optional features resin enables when the adapter offers them. */
const WANTED_FEATURES: GPUFeatureName[] = ["shader-f16", "timestamp-query"];

/** Limits resin raises to the adapter's maximum. */
const RAISED_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
] as const;

/**
 * Opens a WebGPU device. Throws GpuUnavailableError when `navigator.gpu` is missing, no
 * adapter is found, or the device request fails.
 */
export async function openGpu(
  options: { powerPreference?: GPUPowerPreference } = {},
): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new GpuUnavailableError("WebGPU is not available (navigator.gpu is missing)");
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({
      powerPreference: options.powerPreference ?? "high-performance",
    });
  } catch (err) {
    throw new GpuUnavailableError(`WebGPU adapter request failed: ${errorMessage(err)}`);
  }
  if (!adapter) throw new GpuUnavailableError("No WebGPU adapter is available");
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (err) {
    throw new GpuUnavailableError(`WebGPU device request failed: ${errorMessage(err)}`);
  }
  const info = adapter.info;
  return {
    adapter,
    device,
    description: info.description || `${info.vendor} ${info.device}`.trim() || "unknown adapter",
    isFallbackAdapter: Boolean(
      (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
        (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
    ),
    features: new Set(requiredFeatures),
  };
}
