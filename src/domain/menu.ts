export interface Menu {
  sauce: readonly string[];
  cheese: readonly string[];
  mainTopping: readonly string[];
  extraToppings: readonly string[];
}
