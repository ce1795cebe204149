/**
 * The registry version a route serves, for targets that name what they serve by artifact rather than by
 * version: a KServe InferenceService knows only its revisions' storageUri. Predictions must be logged
 * with the registry version (the canary judge compares canary and stable by `modelVersion`), so the
 * serving path looks the version up by storage URI.
 *
 * Several versions may share one artifact (a redeploy registers the old weights again as a new
 * version): then the version the registry names for that role wins (the champion for the stable route,
 * the challenger for the canary) — the one the canary judge compares — else the newest with that URI.
 */
export function versionServing(
  route: { version?: number; artifactUri?: string } | undefined,
  versions: readonly { version: number; artifactUri: string }[],
  preferred?: { version: number; artifactUri: string },
): number | undefined {
  if (!route) return undefined;
  if (route.version !== undefined) return route.version;
  const uri = route.artifactUri;
  if (!uri) return undefined;
  if (preferred && preferred.artifactUri === uri) return preferred.version;
  let newest: number | undefined;
  for (const v of versions) if (v.artifactUri === uri && (newest === undefined || v.version > newest)) newest = v.version;
  return newest;
}
