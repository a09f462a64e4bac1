// The simplest application: every packet the switch sends up is flooded. No flows are installed,
// so every packet crosses the controller (a test load, and a baseline for the learning switch).
import type { Controller } from "../controller.js";
import { flood } from "./learning-switch.js";

/** Starts the hub on `controller`; returns a function that stops it. */
export function hub(controller: Controller): () => void {
  return controller.register("packet-in", flood);
}
