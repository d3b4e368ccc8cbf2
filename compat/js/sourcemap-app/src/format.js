// Money formatting, a second module so the bundle has several sources.
export function formatMoney(cents, currency) {
  const units = (cents / 100).toFixed(2);
  return `${units} ${currency.toUpperCase()}`;
}
