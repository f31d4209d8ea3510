"""Pop-ups known by their structure, not their words: exact-match badges, close controls by shape and place, modal
windows and cards over the page, an ad SDK's activity in front or its view ids on screen."""

from crawler.perceive import perceive
from crawler.perceive.ad_sdks import ad_sdk_registry
from crawler.perceive.matching import PhraseSet, match_form
from crawler.screen import parse_hierarchy

PKG = "com.example.app"


def node(bounds, cls="android.widget.FrameLayout", text="", rid="", desc="", clickable=False, children=(),
         scrollable=False, pkg=PKG):
    x1, y1, x2, y2 = bounds
    attrs = (f'index="0" text="{text}" resource-id="{rid}" class="{cls}" package="{pkg}" content-desc="{desc}" '
             f'checkable="false" checked="false" clickable="{str(clickable).lower()}" enabled="true" '
             f'focusable="false" focused="false" scrollable="{str(scrollable).lower()}" long-clickable="false" '
             f'password="false" selected="false" bounds="[{x1},{y1}][{x2},{y2}]"')
    return f"<node {attrs}>{''.join(children)}</node>"


def dump(*windows):
    return parse_hierarchy(f'<?xml version="1.0"?><hierarchy rotation="0">{"".join(windows)}</hierarchy>')


def page(*extra):
    """A full-screen app page: a title and a list of rows, then whatever is drawn over it."""
    rows = [node((0, 200 + 200 * i, 720, 400 + 200 * i), "android.widget.LinearLayout", clickable=True,
                 children=[node((20, 220 + 200 * i, 700, 280 + 200 * i), "android.widget.TextView",
                                text=f"Row {i} of the page")]) for i in range(6)]
    content = [node((0, 48, 720, 160), "android.widget.TextView", text="My recipes"),
               node((0, 160, 720, 1600), "androidx.recyclerview.widget.RecyclerView", scrollable=True, children=rows)]
    return node((0, 0, 720, 1600), children=[node((0, 0, 720, 1600), children=content), *extra])


def scrim(*children):
    return node((0, 0, 720, 1600), "android.view.View", clickable=True, children=children)


def test_phrase_set_search_finds_exact_entries():
    badge = PhraseSet.of(["sponsored", "=ad"])
    assert badge.search(match_form("AD")) is not None
    assert badge.search(match_form("ad")).group() == "ad"
    assert badge.search(match_form("Add to cart")) is None and badge.search(match_form("ad free")) is None
    assert badge.search(match_form("Sponsored by Foo")) is not None


def test_exact_ad_badge_qualifies_a_dialog_with_an_x():
    card = node((60, 400, 660, 1200), children=[
        node((80, 420, 140, 460), "android.widget.TextView", text="AD"),
        node((80, 500, 640, 1000), "android.widget.ImageView"),
        node((200, 1050, 520, 1150), "android.widget.Button", text="CLICK NOW", clickable=True),
        node((590, 410, 650, 470), "android.widget.ImageView", desc="X", clickable=True)])
    scene = perceive(dump(page(), node((60, 400, 660, 1200), children=[card])))
    assert scene.kind == "ad_popup" and scene.popup == "ad"
    assert scene.actions["close"].bounds == (590, 410, 650, 470)
    assert scene.actions["cta"].text == "CLICK NOW"


def test_in_house_promotion_card_over_a_dimmed_page_with_an_unlabelled_corner_close():
    card = node((80, 450, 640, 1100), children=[
        node((100, 480, 620, 560), "android.widget.TextView", text="每日签到"),
        node((100, 600, 620, 900), "android.widget.ImageView"),
        node((200, 950, 520, 1050), "android.widget.Button", text="立即签到", clickable=True)])
    close = node((330, 1140, 390, 1200), "android.widget.ImageView", rid=f"{PKG}:id/iv_bottom_x", clickable=True)
    scene = perceive(dump(page(scrim(), card, close)))
    assert scene.kind == "ad_popup" and scene.popup == "promotion"
    assert scene.actions["close"].bounds == (330, 1140, 390, 1200)


def test_unknown_modal_with_a_close_id_is_a_popup_not_the_app():
    dialog = node((60, 500, 660, 1100), children=[
        node((80, 520, 640, 600), "android.widget.TextView", text="Your weekly summary is ready"),
        node((200, 950, 520, 1050), "android.widget.Button", text="View", clickable=True),
        node((590, 510, 650, 570), "android.widget.ImageView", rid=f"{PKG}:id/close-circle", clickable=True)])
    scene = perceive(dump(page(), dialog))
    assert scene.kind == "ad_popup" and scene.popup == "unknown"
    assert scene.actions["close"].resource_id.endswith("close-circle")


def test_a_card_in_the_page_flow_or_a_list_row_with_an_x_is_the_app():
    banner = node((40, 200, 680, 420), "android.widget.LinearLayout", children=[
        node((60, 220, 600, 300), "android.widget.TextView", text="New: dark mode is here"),
        node((620, 210, 670, 260), "android.widget.ImageView", rid=f"{PKG}:id/iv_close", clickable=True)])
    flow = node((0, 0, 720, 1600), "android.widget.LinearLayout", children=[
        node((0, 48, 720, 160), "android.widget.TextView", text="Home"), banner,
        node((0, 440, 720, 1600), "android.widget.TextView", text="Today")])
    assert perceive(dump(flow)).kind == "app"


def test_close_ids_are_words_not_substrings():
    def dialog(rid):
        return node((60, 500, 660, 1100), children=[
            node((80, 520, 640, 600), "android.widget.TextView", text="Wardrobe"),
            node((300, 700, 400, 800), "android.widget.ImageView", rid=f"{PKG}:id/{rid}", clickable=True)])
    assert perceive(dump(page(), dialog("closet_icon"))).kind == "app"
    assert perceive(dump(page(), dialog("btn_close_x"))).kind == "ad_popup"


def sdk_interstitial():
    return node((0, 0, 720, 1600), children=[
        node((0, 0, 720, 1600), "android.webkit.WebView"),
        node((600, 60, 696, 156), "android.widget.FrameLayout", clickable=True),
        node((160, 1300, 560, 1400), "android.widget.Button", text="Play Now", clickable=True)])


def test_sdk_activity_in_front_is_an_ad_whatever_it_says():
    activity = "com.bytedance.sdk.openadsdk.stub.activity.Stub_Standard_Portrait_Activity"
    scene = perceive(dump(sdk_interstitial()), activity=activity)
    assert scene.kind == "ad_popup" and scene.ad_sdk == "pangle" and scene.popup == "ad"
    assert scene.actions["close"].bounds == (600, 60, 696, 156)
    assert perceive(dump(sdk_interstitial())).kind == "app"
    assert perceive(dump(sdk_interstitial()), activity="com.example.app.GameActivity").kind == "app"


def test_sdk_view_ids_make_a_popup_an_ad():
    card = node((60, 400, 660, 1200), children=[
        node((80, 420, 140, 460), "android.widget.ImageView", rid=f"{PKG}:id/ksad_logo_icon"),
        node((200, 1050, 520, 1150), "android.widget.Button", text="Open", clickable=True),
        node((590, 410, 650, 470), "android.widget.ImageView", rid=f"{PKG}:id/ksad_auto_close_btn", clickable=True)])
    scene = perceive(dump(page(), node((60, 400, 660, 1200), children=[card])))
    assert scene.kind == "ad_popup" and scene.popup == "ad" and scene.ad_sdk == "kuaishou"


def test_ad_sdk_registry_has_sourced_facts_for_sdks_worldwide():
    registry = ad_sdk_registry()
    assert len(registry.sdks) >= 15
    for sdk in registry.sdks:
        assert sdk.sources and (sdk.packages or sdk.view_ids is not None), sdk.id
    assert registry.by_activity("com.qq.e.ads.PortraitADActivity").id == "gdt"
    assert registry.by_activity("com.google.android.gms.ads.AdActivity").id == "admob"
    assert registry.by_activity("com.google.android.gms.auth.api.signin.internal.SignInHubActivity") is None
    assert registry.by_class("com.kwad.sdk.api.KsAdSDK").id == "kuaishou"
    assert registry.by_class("com.qq.eat.Menu") is None


def test_consent_dialog_whose_only_refusal_is_an_icon_x():
    dialog = node((60, 400, 660, 1200), children=[
        node((80, 420, 580, 480), "android.widget.TextView", text="隐私政策"),
        node((80, 500, 640, 900), "android.widget.TextView", text="请阅读《用户协议》和《隐私政策》了解我们如何处理您的个人信息"),
        node((160, 1050, 560, 1150), "android.widget.Button", text="同意并继续", clickable=True),
        node((596, 410, 650, 464), "android.widget.ImageView", clickable=True)])
    scene = perceive(dump(page(), dialog))
    assert scene.kind == "consent_dialog"
    assert scene.actions["refuse"].bounds == (596, 410, 650, 464) and scene.actions["accept"].text == "同意并继续"
    assert "隐私政策" in scene.dialog_text and "My recipes" not in scene.dialog_text
    assert "My recipes" in scene.text


def test_a_tap_reaches_the_topmost_window_and_overlays_not_what_lies_below():
    from crawler.hittest import describe_hit, node_at, reaches
    from strategies.widgets import widgets_of

    ad = node((0, 800, 720, 1600), pkg=PKG, children=[
        node((100, 1300, 620, 1400), "android.widget.Button", text="Order now", clickable=True)])
    h = dump(page(), ad)
    rows = [w for w in h.widgets if w.clickable and "Row" in w.inner_label()]
    covered = next(w for w in rows if w.bounds[1] >= 1200)
    visible = next(w for w in rows if w.bounds[3] <= 800)
    assert not reaches(h, covered) and reaches(h, visible)
    window, hit = node_at(h, *((covered.bounds[0] + covered.bounds[2]) // 2, 1350))
    assert window is h.windows[-1] and hit.text == "Order now"
    assert describe_hit(h, 360, 1350)["text"] == "Order now"
    offered = {w.control.text for w in widgets_of(h, PKG)}
    assert "Order now" in offered and covered.inner_label() not in offered and visible.inner_label() in offered


def test_a_toast_takes_no_touches_but_a_progress_dialog_with_the_same_id_does():
    from crawler.hittest import node_at, reaches

    def message(bounds):
        return node(bounds, pkg=PKG, children=[
            node(bounds, "android.widget.TextView", text="已复制", rid="android:id/message")])

    h = dump(page(), message((200, 1260, 520, 1340)))  # a toast over the last row's centre
    covered = next(w for w in h.widgets if w.clickable and w.bounds[1] == 1200)
    assert reaches(h, covered) and node_at(h, 360, 1300) == (h.windows[0], covered)
    h = dump(page(), message((100, 700, 620, 900)))  # a ProgressDialog in the middle swallows the tap
    centre = next(w for w in h.widgets if w.clickable and w.bounds[1] == 600)
    assert not reaches(h, centre) and node_at(h, 360, 700) == (h.windows[-1], None)


PC = "com.android.permissioncontroller"


def system_dialog(*kids, bounds=(40, 600, 680, 1100), pkg=PC):
    return node(bounds, pkg=pkg, children=list(kids))


def app_dialog(*kids):
    return node((60, 500, 660, 1100), children=list(kids))


def actions_of(scene):
    return {role: c.text for role, c in scene.actions.items()}


def test_android_10_deny_only_follow_up_is_a_permission_dialog_to_deny():
    d = system_dialog(
        node((80, 640, 640, 800), "android.widget.TextView", pkg=PC,
             text="This app was designed for an older version of Android. Denying this permission may cause it to "
                  "no longer function as intended."),
        node((300, 1000, 440, 1080), "android.widget.Button", text="CANCEL", clickable=True, pkg=PC),
        node((460, 1000, 660, 1080), "android.widget.Button", text="DENY ANYWAY", clickable=True, pkg=PC))
    scene = perceive(dump(page(), d))
    assert scene.kind == "permission_dialog" and actions_of(scene) == {"deny": "DENY ANYWAY"}


def test_traditional_chinese_permission_dialog_names_its_group():
    d = system_dialog(
        node((80, 640, 640, 800), "android.widget.TextView", text="要允許「錄音機」錄音嗎？", pkg=PC),
        node((80, 900, 640, 980), "android.widget.Button", text="使用應用程式時", clickable=True, pkg=PC),
        node((80, 1000, 640, 1080), "android.widget.Button", text="不允許", clickable=True, pkg=PC))
    scene = perceive(dump(page(), d))
    assert scene.kind == "permission_dialog" and scene.permission == "microphone"
    assert actions_of(scene) == {"allow_foreground": "使用應用程式時", "deny": "不允許"}


def test_a_small_system_prompt_on_a_tall_screen_is_not_chrome():
    ui = "com.android.systemui"
    d = node((40, 1200, 1040, 1500), pkg=ui, children=[
        node((80, 1220, 1000, 1300), "android.widget.TextView", text="Allow Chat to send you notifications?", pkg=ui),
        node((80, 1400, 500, 1480), "android.widget.Button", text="Allow", clickable=True, pkg=ui),
        node((540, 1400, 1000, 1480), "android.widget.Button", text="Don't allow", clickable=True, pkg=ui)])
    tall = node((0, 0, 1080, 2400), children=[node((0, 100, 1080, 300), "android.widget.TextView", text="Chat")])
    scene = perceive(dump(tall, d))
    assert scene.kind == "permission_dialog" and scene.permission == "notifications"
    status_bar = node((0, 0, 1080, 80), pkg=ui, children=[node((900, 10, 1000, 70), "android.widget.TextView",
                                                                text="9:41", pkg=ui)])
    assert perceive(dump(tall, status_bar)).kind == "app"


def test_rationale_and_rating_phrasings_real_apps_use():
    en = app_dialog(
        node((80, 520, 640, 580), "android.widget.TextView", text="Enable Background Location Access"),
        node((80, 600, 640, 800), "android.widget.TextView", clickable=True,
             text="We use your location in the background to log your runs."),
        node((80, 950, 340, 1050), "android.widget.Button", text="No, not now", clickable=True),
        node((360, 950, 640, 1050), "android.widget.Button", text="Enable", clickable=True))
    scene = perceive(dump(page(), en))
    assert scene.kind == "rationale_dialog" and scene.permission == "location"
    assert actions_of(scene) == {"not_now": "No, not now", "grant": "Enable"}
    zh = app_dialog(
        node((80, 520, 640, 580), "android.widget.TextView", text="提示"),
        node((80, 600, 640, 800), "android.widget.TextView", text="拍照搜题需要用相机拍下题目，用于识别文字"),
        node((80, 950, 340, 1050), "android.widget.Button", text="取消", clickable=True),
        node((360, 950, 640, 1050), "android.widget.Button", text="好的", clickable=True))
    scene = perceive(dump(page(), zh))
    assert scene.kind == "rationale_dialog" and scene.permission == "camera"
    rating = app_dialog(
        node((80, 520, 640, 580), "android.widget.TextView", text="Please rate this application"),
        node((80, 950, 340, 1050), "android.widget.Button", text="Don't show", clickable=True),
        node((360, 950, 640, 1050), "android.widget.Button", text="Rate", clickable=True))
    scene = perceive(dump(page(), rating))
    assert scene.kind == "ad_popup" and scene.popup == "rating"
    assert actions_of(scene) == {"close": "Don't show", "cta": "Rate"}


def test_a_sign_up_pages_skip_is_no_launch_ad_by_its_id_alone():
    def screen(*extra):
        return node((0, 0, 720, 1600), children=[
            node((560, 80, 700, 140), "android.widget.TextView", text="Skip", rid=f"{PKG}:id/btn_skip", clickable=True),
            *extra])
    signup = screen(node((60, 600, 660, 700), "android.widget.TextView", text="Create account"),
                    node((60, 800, 660, 900), "android.widget.EditText", text="Email", clickable=True))
    assert perceive(dump(signup)).kind == "app"
    launch_ad = screen(node((0, 0, 720, 1400), "android.widget.ImageView", rid=f"{PKG}:id/splash_ad_image"))
    assert perceive(dump(launch_ad)).kind == "splash_ad"
