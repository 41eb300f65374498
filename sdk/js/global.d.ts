// Type declarations for "microsockets/global": the <script> build, which
// defines the global MicroSocket.
import type { MicroSocket as MicroSocketFunction } from './microsockets.js';

declare global {
  var MicroSocket: typeof MicroSocketFunction;
}

export {};
