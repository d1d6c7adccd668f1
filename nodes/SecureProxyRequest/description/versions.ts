/**
 * Node versions. Version 2 made Service a resource locator and shows "Put Output in Field" only
 * for the response formats that use it; version 1 keeps its parameters exactly as they were, so
 * workflows saved with it run and show as before. Use in `displayOptions.show['@version']`.
 */

/** Version 1 only. */
export const VERSION_1 = 1;

/** Version 2 and later. */
export const FROM_VERSION_2 = { _cnd: { gte: 2 } } as const;
