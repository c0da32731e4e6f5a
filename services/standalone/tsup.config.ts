import { serviceBundle } from "../../tsup.service.ts";

export default serviceBundle({ index: "src/index.ts" });
