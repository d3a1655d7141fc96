// kreislauf live: a feed line's phase opens the Guide panel at that phase.
document.addEventListener("click", function (event) {
    const link = event.target.closest("a.phase-link");
    if (!link || !window.dash_clientside) {
        return;
    }
    event.preventDefault();
    window.dash_clientside.set_props("panel", {value: "guide"});
    const target = link.getAttribute("href").slice(1);
    setTimeout(function () {
        const section = document.getElementById(target);
        if (section) {
            section.scrollIntoView({block: "start"});
        }
    }, 50);
});
