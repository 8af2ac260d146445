/**
 * After `npm ci`: when the install compiled better-sqlite3's addon, packs it into npm's cache of prebuilt binaries
 * (`<npm cache>/_prebuilds`) under the name its installer looks for. Never throws.
 */
export function keepNativeBuild(root: string): void;
