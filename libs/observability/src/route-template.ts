/** The route template a request matched ("/api/v1/data/:id"), or "unmatched". */
export function routeTemplate(req: { route?: unknown; baseUrl?: string }): string {
  const route = (req.route as { path?: string } | undefined)?.path;
  // Nest answers unknown paths through a catch-all route ("/{*path}"): unmatched as well.
  return route && !route.includes('{*') ? `${req.baseUrl ?? ''}${route}` : 'unmatched';
}
