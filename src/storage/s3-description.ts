/** How an S3 store reads in messages: its location and endpoint, never its credentials. */
export function describeS3(options: { bucket: string; prefix: string; endpoint?: string | undefined }): string {
  const location = `s3://${options.bucket}/${options.prefix}`;
  if (!options.endpoint) return location;
  let endpoint = options.endpoint;
  try {
    const url = new URL(options.endpoint);
    url.username = '';
    url.password = '';
    endpoint = url.origin === 'null' ? url.href : `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    endpoint = '(invalid endpoint URL)';
  }
  return `${location} (endpoint ${endpoint})`;
}
