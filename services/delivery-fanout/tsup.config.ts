import { serviceBundle } from "../../tsup.service.ts";

export default serviceBundle({ main: "src/main.ts" });
