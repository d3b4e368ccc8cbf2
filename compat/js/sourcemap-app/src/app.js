import { cartTotal } from "./cart.js";
import { formatMoney } from "./format.js";

// checkout throws TypeError from lineTotal when a cart line is undefined.
export function checkout(cart) {
  const total = cartTotal(cart);
  return formatMoney(total, cart.currency);
}

globalThis.checkout = checkout;
