// Minimal typing of the joyent parser used as an independent cross-check in tests.
declare module "http-signature" {
  interface ParsedSignature {
    params: { headers: string[]; keyId: string; algorithm: string };
  }
  const httpSignature: {
    parseRequest(request: {
      method: string;
      url: string;
      httpVersion: string;
      headers: Record<string, string>;
    }): ParsedSignature;
    verifySignature(parsed: ParsedSignature, publicKeyPem: string): boolean;
  };
  export default httpSignature;
}
