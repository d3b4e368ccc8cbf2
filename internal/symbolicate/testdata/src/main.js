import { checkout } from "./checkout.js";

// run is the entry point the test harness calls: it prints the stack of
// the error checkout throws for a bad cart.
export function run() {
  try {
    checkout([{ sku: "apple", price: 1.5, quantity: 2 }, { sku: "pear", price: 2, quantity: -1 }], "EUR");
  } catch (err) {
    return err.stack;
  }
  return "no error";
}

globalThis.flytrapFixture = run;
