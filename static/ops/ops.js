// The ops review page: wiring only; each module does one job.
import { filtersWire } from "./filters.js";
import { rowsWire } from "./rows.js";
import { lightboxWire, thumbsWire } from "./thumbs.js";

const main = document.getElementById("main");
filtersWire(document.querySelector(".ops-filters"));
rowsWire(document.querySelector(".ops-table"));
thumbsWire(main);
lightboxWire(main, document.getElementById("ops-lightbox"));
