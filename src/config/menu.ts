/**
 * The `[pizza]` section: the menu, one item per indented line as the
 * workshop's `default.ini` writes it.
 */
import type { z } from 'zod';
import type { Menu } from '../domain/menu.js';
import { list, listDefault, section, setting } from './setting.js';

/** A list of menu items; the customer picks one, so it needs at least one. */
function choice(key: string, items: readonly string[], description: string) {
  const type = list.refine((chosen) => chosen.length > 0, {
    message: `[pizza] ${key} needs at least one item, one per indented line`,
  });
  return setting(type, { default: listDefault(items), description, hint: 'one item per indented line' });
}

export const menuSection = section(
  {
    sauce: choice(
      'sauce',
      ['Tomato', 'Organic tomato', 'Pesto', 'Marinara', 'Buffalo', 'Hummus'],
      'The sauces a customer picks one of.',
    ),
    cheese: choice(
      'cheese',
      ['Mozzarella', 'Provolone', 'Cheddar', 'Ricotta', 'Gouda', 'Gruyere'],
      'The cheeses a customer picks one of.',
    ),
    main_topping: choice(
      'main_topping',
      ['Pepperoni', 'Sausage', 'Chicken', 'Pork', 'Minced meat', 'Vegan meat'],
      'The main toppings a customer picks one of.',
    ),
    extra_toppings: setting(list, {
      default: listDefault(['Mushroom', 'Onion', 'Egg', 'Ham', 'Black olives', 'Green pepper', 'Fresh garlic']),
      description: 'The extra toppings a customer may add, any number of them; may be empty.',
      hint: 'one item per indented line, or nothing',
    }),
  },
  { description: 'The menu the web app offers.' },
);

export function menuFrom(pizza: z.output<typeof menuSection>): Menu {
  return {
    sauce: pizza.sauce,
    cheese: pizza.cheese,
    mainTopping: pizza.main_topping,
    extraToppings: pizza.extra_toppings,
  };
}
