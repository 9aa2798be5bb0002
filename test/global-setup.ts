/** Starts the real services the suite needs once for all files. Filled in as they land. */
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
