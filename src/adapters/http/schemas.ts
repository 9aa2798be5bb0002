import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Menu } from '../../domain/menu.js';
import { deliveryNoteSchema, pizzaChoiceSchema, usernameSchema } from '../../domain/order.js';
import { isIdempotencyKey } from '../sqlite/orders-store.js';
import { FLOW_SERVICES } from './presenters.js';

/**
 * What the web app accepts, in one place: the route schemas the zod type
 * provider checks before a handler runs. A form a schema refuses is answered
 * by the route's `config.invalidForm` page (through the app's error handler),
 * with the sentences written here; any other refused request gets the error
 * page. Handlers see only what passed.
 */

export const FORM_DAMAGED = 'This form was damaged on its way. Check your pizza and order again.';

/**
 * One text field of a form. A browser sends each field once; a field sent
 * twice (a tampered page, a script) arrives as a list, and is refused in the
 * shop's words rather than zod's "expected string, received array".
 */
function formText(messages: { missing: string; repeated: string }) {
  return z.string({ error: (issue) => (Array.isArray(issue.input) ? messages.repeated : messages.missing) });
}

/** A form body: none at all reads as an empty form, so each field says what it is missing. */
function formBody<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess((body) => body ?? {}, z.object(shape, { error: 'This form could not be read. Try again.' }));
}

/** A form sends one checked box as a string, several as a list, and none as nothing. */
function checkedBoxes(value: unknown): unknown {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A query parameter a page may send; one that is unknown or sent twice counts as not sent. */
function optionalParameter<Schema extends z.ZodType>(schema: Schema) {
  return schema.optional().catch(undefined);
}

export const loginForm = formBody({
  username: formText({ missing: 'Enter a name.', repeated: 'Enter one name.' }).pipe(usernameSchema),
});

/** The menu's form: a pizza from the configured menu, an optional note for the driver, and the page's idempotency key. */
export function orderForm(menu: Menu) {
  const choice = pizzaChoiceSchema(menu).shape;
  return formBody({
    ...choice,
    extraToppings: z.preprocess(checkedBoxes, choice.extraToppings),
    // Left blank, or not sent at all (a script, a page from before the note): no note.
    deliveryNote: formText({
      missing: 'Write the note for the driver as text.',
      repeated: 'Write one note for the driver.',
    })
      .pipe(deliveryNoteSchema)
      .optional(),
    // The menu page's random key: sending one form twice places one order. None: a script, or a page from before keys.
    idempotencyKey: z.string({ error: FORM_DAMAGED }).refine(isIdempotencyKey, { error: FORM_DAMAGED }).optional(),
  });
}

/** Checked against the order id pattern by the handlers, so that a bad id gets the same 404 as an unknown one. */
export const orderParams = z.object({ orderId: z.string() });
export const orderLogsParams = z.object({ orderId: z.string(), service: z.string() });

const service = optionalParameter(z.enum(FLOW_SERVICES));
/** A live page's cursor (see live-feed.ts); for a page that opens a new stream or polls. */
const last = optionalParameter(z.string().max(200));

export const orderPageQuery = z.object({ service });
export const orderLiveQuery = z.object({ service, last });
export const myOrdersLiveQuery = z.object({ last });
export const lookupQuery = z.object({ id: optionalParameter(z.string()) });

/** One thing a route schema refused: the form field (the first path segment) and the customer's sentence. */
export interface FormProblem {
  field: string;
  message: string;
}

/** Renders a refused form again, with its problems; set per route as `config.invalidForm`. */
export type InvalidFormPage = (
  request: FastifyRequest,
  reply: FastifyReply,
  problems: FormProblem[],
) => Promise<string>;

/** What a route schema refused, or undefined when the error is not a schema's refusal. */
export function formProblems(error: unknown): FormProblem[] | undefined {
  if (!hasZodFastifySchemaValidationErrors(error)) return undefined;
  return error.validation.map((issue) => ({
    field: issue.instancePath.split('/')[1] ?? '',
    message: issue.message ?? 'Check this form and try again.',
  }));
}

/** A field of a refused form as it was sent, to show it again; only a single text value is. */
export function sentText(body: unknown, field: string): string | undefined {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The checked boxes of a refused form as they were sent. */
export function sentBoxes(body: unknown, field: string): string[] {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
  const boxes = checkedBoxes(value);
  return Array.isArray(boxes) ? boxes.filter((box): box is string => typeof box === 'string') : [];
}
