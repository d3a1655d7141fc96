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

// kreislauf live: the sizes of the network's and the running plots' boxes (whole pixels), and a
// report to the server when a resize or zoom changes them, so labels and axes fit the room there is.
window.kreislaufSizes = function () {
    const network = document.getElementById("network-0");
    const running = document.getElementById("running");
    if (!network || !running) {
        return null;
    }
    const n = network.getBoundingClientRect();
    const r = running.getBoundingClientRect();
    if (n.width < 1 || n.height < 1 || r.width < 1 || r.height < 1) {
        return null;
    }
    return {
        network: [Math.round(n.width), Math.round(n.height)],
        running: [Math.round(r.width), Math.round(r.height)],
    };
};
(function () {
    let timer = null;
    let reported = "";
    window.addEventListener("resize", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
            const sizes = window.kreislaufSizes();
            if (!sizes || !window.dash_clientside || !window.dash_clientside.set_props) {
                return;
            }
            const key = JSON.stringify(sizes);
            if (key !== reported) {
                reported = key;
                window.dash_clientside.set_props("box-sizes", {data: sizes});
            }
        }, 300);
    });
})();

// kreislauf live: the Key button of a short screen shows or hides the key.
document.addEventListener("click", function (event) {
    if (!event.target.closest(".legend-toggle")) {
        return;
    }
    const box = document.getElementById("legend-box");
    if (box.hasAttribute("data-open")) {
        box.removeAttribute("data-open");
    } else {
        box.setAttribute("data-open", "");
    }
});
