"""Street, settlement, subdistrict and community names.

The name tables and the pools that draw from them.
"""

from __future__ import annotations

import numpy as np

from .constants import _UNNAMED

_ARTERIAL_NAMES = (
    "人民路 解放路 中山路 建设路 和平路 胜利路 新华路 民主路 文化路 团结路 光明路 友谊路 "
    "振兴路 朝阳路 东风路 红旗路 五一路 青年路 复兴路 北京路 上海路 长江路 黄河路 湘江路 "
    "珠江路 学府路 迎宾大道 世纪大道 发展大道 金桂大道 工业大道 兴业大道 富强路 育英路 "
    "府前路 公园路"
).split()
_LOCAL_PREFIXES = (
    "桂花 兰花 梅园 竹林 松柏 杏林 枫林 荷塘 柳湾 桃源 新村 花园 幸福 安居 康乐 长寿 育才 "
    "翠屏 金钟 银杏 丹桂 玉兰 紫荆 芙蓉 石榴 茶花 杜鹃 海棠 樱花 菊香 望城 观山 龙井 凤凰 "
    "麒麟 白云 青云 锦绣 富源 盛世 瑞丰 嘉禾 宏达 兴隆 吉祥 如意 平安 永安 太平 和顺 祥和 "
    "春晖 秋实 晨光 晓月 东山 西山 南山 北山 清泉 甘泉 溪口 龙泉 星光 明珠 金沙 银河 碧水 "
    "青松 翠竹 红枫 绿荫 百花 万寿 千禧 市府 粮站 电厂 纺织 机械 农机 水厂 供销 邮电 电力 "
    "烟草 林业 水利 交通 卫生 教育 体育 书院 文庙 城隍 鼓楼 钟楼 营盘 校场 马场 油榨 盐井"
).split()
_LOCAL_SUFFIXES = "街 巷 路 一路 二路 三路 东路 西路 南路 北路 横街 后街".split()
_LANE_SUFFIXES = "巷 里 弄".split()
_BRIDGE_NAMES = "通济桥 永济桥 广济桥 安澜桥 长虹桥 迎春桥 彩虹桥 清水桥 福寿桥".split()
_RAIL_CROSSING_NAMES = "站前路 通站路 铁路下穿道 跨线路".split()
_SUBDISTRICT_NAMES = "城关 新华 金桂 龙泉 文昌 兴隆 云雾 清水".split()
_COMMUNITY_PREFIXES = (
    "人民 和平 建设 文化 团结 光明 友谊 幸福 新华 桂花 龙井 凤凰 白云 青云 锦绣 春晖 晨光 "
    "东山 西山 南山 北山 清泉 星光 明珠 金沙 银河 碧水 翠竹 百花 书院 文庙 鼓楼 钟楼 河滨 "
    "铁北 站前 城南 城北 万寿 育才"
).split()
_RIVER_NAME = "清水河"
_RAILWAY_NAME = "城际铁路"


class _NamePool:
    """Unique Chinese street names drawn in a seeded order."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.arterial = list(rng.permutation(_ARTERIAL_NAMES))
        combos = [p + s for p in _LOCAL_PREFIXES for s in _LOCAL_SUFFIXES]
        self.local = [str(x) for x in rng.permutation(combos)]
        lanes = [p + s for p in _LOCAL_PREFIXES for s in _LANE_SUFFIXES]
        self.lane = [str(x) for x in rng.permutation(lanes)]
        self._rural = 0

    def next_arterial(self) -> str:
        if self.arterial:
            return str(self.arterial.pop())
        self._rural += 1
        return f"县道X{100 + self._rural}"

    def next_local(self) -> str:
        return self.local.pop() if self.local else _UNNAMED

    def next_lane(self) -> str:
        return self.lane.pop() if self.lane else _UNNAMED


def _root(name: str) -> str:
    for suffix in ("大道", "路", "街"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


_TOWN_NAMES = (
    "龙山 石板 青岩 马场 高坡 白果 黄泥 红岩 大坪 长坝 沙坝 新场 旧州 平寨 岩脚 河口 "
    "坪上 谷丰 双河 三合 四方 五里 六合 七星 八角 九龙 十里 金山 银山 铜鼓"
).split()
_VILLAGE_PREFIXES = (
    "上寨 下寨 中寨 新寨 老寨 大寨 小寨 前进 红星 光荣 联合 民族 团结 和谐 群力 新民 新光 "
    "石头 石门 岩门 岩上 坪坝 坝子 田坝 水井 井坝 茶园 果园 竹园 松林 杉木 枫香 柏杨 "
    "桃子 李子 梨树 核桃 板栗 白岩 黑石 青山 绿水 高寨 低寨 坡头 坡脚 沟头 河边 桥头 "
    "塘边 湾里 冲头 垭口 岭上 洞口 山后 山前"
).split()


def _names(rng: np.random.Generator, pool: tuple[str, ...] | list[str], n: int, suffix: str, taken: set[str]) -> list[str]:
    """``n`` unique names from a seeded permutation of ``pool``, numbered ones when it runs out."""
    out: list[str] = []
    for p in rng.permutation(list(pool)):
        if len(out) == n:
            break
        if f"{p}{suffix}" not in taken:
            out.append(f"{p}{suffix}")
    i = 1
    while len(out) < n:
        if f"第{i}{suffix}" not in taken and f"第{i}{suffix}" not in out:
            out.append(f"第{i}{suffix}")
        i += 1
    taken.update(out)
    return out
