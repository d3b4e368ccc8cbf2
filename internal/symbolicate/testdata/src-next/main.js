import { describeCoupon, discount } from "./coupons.js";
import { checkout } from "../src/checkout.js";

// run is src/main.js's entry point in the next release, which also
// prices a coupon: the same error, thrown from the same cart code.
export function run() {
  try {
    const note = describeCoupon("SPRING24") + ", saving " + discount(42, "SPRING24");
    checkout([{ sku: "apple", price: 1.5, quantity: 2 }, { sku: "pear", price: 2, quantity: -1 }], "EUR " + note.length);
  } catch (err) {
    return err.stack;
  }
  return "no error";
}

globalThis.flytrapFixture = run;
