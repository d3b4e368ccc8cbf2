import { cartTotal } from "./cart.js";

// checkout prices the cart and formats the amount due.
export function checkout(items, currency) {
  const total = cartTotal(items);
  return currency + " " + total.toFixed(2);
}
