// JSON columns are read with the domain's parseJson; this path stays for the delivery code's imports.
export { parseJson } from '../domain/json.ts';
