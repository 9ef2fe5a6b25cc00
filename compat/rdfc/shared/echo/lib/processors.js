"use strict";
var __awaiter = (this && this.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
var __asyncValues = (this && this.__asyncValues) || function (o) {
    if (!Symbol.asyncIterator) throw new TypeError("Symbol.asyncIterator is not defined.");
    var m = o[Symbol.asyncIterator], i;
    return m ? m.call(o) : (o = typeof __values === "function" ? __values(o) : o[Symbol.iterator](), i = {}, verb("next"), verb("throw"), verb("return"), i[Symbol.asyncIterator] = function () { return this; }, i);
    function verb(n) { i[n] = o[n] && function (v) { return new Promise(function (resolve, reject) { v = o[n](v), settle(resolve, reject, v.done, v.value); }); }; }
    function settle(resolve, reject, d, v) { Promise.resolve(v).then(function(v) { resolve({ value: v, done: d }); }, reject); }
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.SendProcessor = exports.LogProcessor = exports.EchoProcessor = exports.TestProcessor = void 0;
const js_runner_1 = require("@rdfc/js-runner");
class TestProcessor extends js_runner_1.Processor {
    init() {
        return __awaiter(this, void 0, void 0, function* () {
            this.logger.info(JSON.stringify(this.args, undefined, 2));
        });
    }
    transform() {
        return __awaiter(this, void 0, void 0, function* () { });
    }
    produce() {
        return __awaiter(this, void 0, void 0, function* () { });
    }
}
exports.TestProcessor = TestProcessor;
class EchoProcessor extends js_runner_1.Processor {
    init() {
        return __awaiter(this, void 0, void 0, function* () {
            this.logger.info('Init echo processor');
        });
    }
    transform() {
        return __awaiter(this, void 0, void 0, function* () {
            var _a, e_1, _b, _c;
            try {
                for (var _d = true, _e = __asyncValues(this.reader.streams()), _f; _f = yield _e.next(), _a = _f.done, !_a; _d = true) {
                    _c = _f.value;
                    _d = false;
                    const msg = _c;
                    this.logger.info('Echoing message');
                    yield this.writer.stream(msg);
                }
            }
            catch (e_1_1) { e_1 = { error: e_1_1 }; }
            finally {
                try {
                    if (!_d && !_a && (_b = _e.return)) yield _b.call(_e);
                }
                finally { if (e_1) throw e_1.error; }
            }
            yield this.writer.close();
            this.logger.info('closed');
        });
    }
    produce() {
        return __awaiter(this, void 0, void 0, function* () {
            // nothing
        });
    }
}
exports.EchoProcessor = EchoProcessor;
class LogProcessor extends js_runner_1.Processor {
    produce() {
        return __awaiter(this, void 0, void 0, function* () { });
    }
    init() {
        return __awaiter(this, void 0, void 0, function* () {
            this.logger.info('Init log processor');
        });
    }
    transform() {
        return __awaiter(this, void 0, void 0, function* () {
            var _a, e_2, _b, _c;
            try {
                for (var _d = true, _e = __asyncValues(this.args.reader.strings()), _f; _f = yield _e.next(), _a = _f.done, !_a; _d = true) {
                    _c = _f.value;
                    _d = false;
                    const msg = _c;
                    this.logger.info('Got msg' + msg);
                }
            }
            catch (e_2_1) { e_2 = { error: e_2_1 }; }
            finally {
                try {
                    if (!_d && !_a && (_b = _e.return)) yield _b.call(_e);
                }
                finally { if (e_2) throw e_2.error; }
            }
        });
    }
}
exports.LogProcessor = LogProcessor;
class SendProcessor extends js_runner_1.Processor {
    init() {
        return __awaiter(this, void 0, void 0, function* () {
            this.logger.info('Init send processor');
        });
    }
    transform() {
        return __awaiter(this, void 0, void 0, function* () { });
    }
    produce() {
        return __awaiter(this, void 0, void 0, function* () {
            for (const msg of this.get('msgs')) {
                yield this.get('writer').string(msg);
                this.logger.info('Sending ' + msg);
                yield new Promise((res) => setTimeout(res, 1000));
            }
            yield this.get('writer').close();
            this.logger.info('Closed');
        });
    }
}
exports.SendProcessor = SendProcessor;
