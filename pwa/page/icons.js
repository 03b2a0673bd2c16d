// The hazard icons: one inline SVG drawing per kind of hazard (no external assets), so that
// flammable liquids, compressed gases and explosives never share a symbol. Decorative: the
// text label beside an icon carries its meaning. Builds SVG nodes only; knows no records.

const SVG = 'http://www.w3.org/2000/svg';
const STROKE = { fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };

// Each drawing: [tag, attributes] on a 24×24 grid, filled with currentColor unless stroked.
const DRAWINGS = {
  // Exploding bomb (GHS01): a twelve-point burst.
  explosives: [['path', { d: 'M12 1.5 13.4 7.2 17.5 3 15.9 8.6 21.5 7 17.3 11.1 23 12.5 17.3 13.9 21.5 18 15.9 16.4 17.5 22 13.4 17.8 12 23.5 10.6 17.8 6.5 22 8.1 16.4 2.5 18 6.7 13.9 1 12.5 6.7 11.1 2.5 7 8.1 8.6 6.5 3 10.6 7.2z' }]],
  // A drop with a flame cut out of it.
  flammable_liquids: [['path', { d: 'M12 1.5C9 6.5 4.5 10.5 4.5 15a7.5 7.5 0 0 0 15 0C19.5 10.5 15 6.5 12 1.5zM12 10c.6 2 3.2 3 3.2 6a3.2 3.2 0 0 1-6.4 0c0-1.6 1-2.6 1.6-4 .5 1 1 1.5 1.6 2 .5-1.2.5-2.6 0-4z' }]],
  // A gas cylinder (GHS04): valve, shoulder, body.
  compressed_gases: [['path', { d: 'M9 1.5h6v2h-1.5v2.2A4.5 4.5 0 0 1 17 10v11.5a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1V10a4.5 4.5 0 0 1 3.5-4.3V3.5H9zM9 12v2h6v-2z' }]],
  // A cylinder with a flame beside its valve.
  acetylene: [['path', { d: 'M5 5.5h5v2H9v1.3A3.5 3.5 0 0 1 11.5 12v9.5a1 1 0 0 1-1 1h-6a1 1 0 0 1-1-1V12A3.5 3.5 0 0 1 6 8.8V7.5H5z' }],
    ['path', { d: 'M17.5 2c.7 2.5 4 3.8 4 7.5a4 4 0 0 1-8 0c0-2 1.2-3.3 2-5 .6 1.2 1.2 1.8 2 2.5.6-1.5.6-3.2 0-5z' }]],
  // A squat LPG bottle with its carrying ring.
  lpg: [['path', { d: 'M9 1.5h6v3.5h-1V6h2.5A3.5 3.5 0 0 1 20 9.5v9a3.5 3.5 0 0 1-3.5 3.5h-9A3.5 3.5 0 0 1 4 18.5v-9A3.5 3.5 0 0 1 7.5 6H10V5H9zM10 3v1.5h4V3zM4 13h16v2H4z' }]],
  // Flame over a circle (GHS03, oxidiser).
  oxygen: [['path', { d: 'M12 1.5c.8 2.8 4.5 4 4.5 8a4.5 4.5 0 0 1-9 0c0-2.2 1.4-3.6 2.2-5.5.6 1.3 1.3 2 2.2 2.8.7-1.7.7-3.5.1-5.3z' }],
    ['circle', { cx: 12, cy: 18, r: 4.5 }], ['path', { d: 'M3 22.5h18', ...STROKE }]],
  // A battery with a lightning bolt cut out.
  lithium_batteries: [['path', { d: 'M7 4h3V2h4v2h3a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H7a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm6 3-4.5 7H12l-1 5 4.5-7H12z' }]],
  // A bank of battery cells.
  bess: [['path', { d: 'M2 6h6v16H2zM3.5 4h3v2h-3zM9 6h6v16H9zM10.5 4h3v2h-3zM16 6h6v16h-6zM17.5 4h3v2h-3z' }],
    ['path', { d: 'M3 14h4M10 14h4M17 14h4', fill: 'none', stroke: 'var(--card, #fff)', 'stroke-width': 1.5 }]],
  // A solar panel under the sun.
  solar_pv: [['circle', { cx: 18.5, cy: 4.5, r: 3 }],
    ['path', { d: 'M5 10h13l3 12H2zM6.6 12l-.7 3.5h4.6l.3-3.5zm6 0 .3 3.5h4.6l-.8-3.5zM5.5 17.5l-.8 3h5.7l.2-3zm7.4 0 .2 3h5.7l-.7-3z' }]],
  // A pylon carrying lines.
  overhead_power: [['path', { d: 'M12 2 7 22M12 2l5 20M4 7h16M5.5 12h13M9 17h6M4 7l1.5 3M20 7l-1.5 3', ...STROKE }]],
  // Fibres breathed in: a face in a mask.
  asbestos: [['path', { d: 'M12 2a5 5 0 0 1 5 5v1a5 5 0 0 1-10 0V7a5 5 0 0 1 5-5zM4 22c0-5 3.5-8 8-8s8 3 8 8z' }],
    ['path', { d: 'M7.5 8.5h9v2.5a4.5 4.5 0 0 1-9 0z', fill: 'var(--card, #fff)' }],
    ['path', { d: 'M9 9.8h6M9 11.4h6', fill: 'none', stroke: 'currentColor', 'stroke-width': 1 }]],
  // A flask with liquid.
  hazardous_chemicals: [['path', { d: 'M9 2h6v2h-1v5l6 10a2 2 0 0 1-2 3H6a2 2 0 0 1-2-3l6-10V4H9zm-1 13h8l-2-4h-4z' }]],
  // A wall with a crack through it.
  structural_weakness: [['path', { d: 'M3 3h18v19H3zM12 3l-2 5 3 3-3 4 2 3-1 4h2l1-4-2-3 3-4-3-3 2-5z' }]],
  // Stairs going down, and an arrow.
  deep_basement: [['path', { d: 'M2 6h5v5h5v5h5v5h5v2H2z' }], ['path', { d: 'M18 2v9m-3-3 3 3 3-3', ...STROKE }]],
  // Stacked boxes.
  hoarding: [['path', { d: 'M3 13h8v9H3zM13 13h8v9h-8zM7 3h10v9H7z' }],
    ['path', { d: 'M5.5 16h3M15.5 16h3M10.5 6h3', fill: 'none', stroke: 'var(--card, #fff)', 'stroke-width': 1.5 }]],
  // A building face with a flame up it.
  combustible_cladding: [['path', { d: 'M3 2h11v20H3zM5 4v3h3V4zm4 0v3h3V4zM5 9v3h3V9zm4 0v3h3V9zM5 14v3h3v-3z' }],
    ['path', { d: 'M18 8c.7 2.5 4 3.8 4 8a4 4 0 0 1-8 0c0-2.2 1.2-3.6 2-5.5.6 1.3 1.2 2 2 2.8.6-1.7.6-3.5 0-5.3z' }]],
  // Poles and boards.
  scaffolding: [['path', { d: 'M4 2v20M12 2v20M20 2v20M4 7h16M4 14h16M4 21h16M4 14l8-7M12 21l8-7', ...STROKE }]],
  // A manhole: a round opening with a person entering.
  confined_space: [['ellipse', { cx: 12, cy: 18, rx: 10, ry: 4 }], ['circle', { cx: 12, cy: 4, r: 2.5 }],
    ['path', { d: 'M8.5 8h7l-1 8h-5z' }]],
  // A silo: a domed tower beside a barn roof.
  silo: [['path', { d: 'M4 8a4 4 0 0 1 8 0v14H4zM13 13l4.5-4 4.5 4v9h-9z' }], ['path', { d: 'M4 12h8M4 16h8', fill: 'none', stroke: 'var(--card, #fff)', 'stroke-width': 1.2 }]],
  // A cow, side on.
  livestock: [['path', { d: 'M2 8.5h13.5l1.5-2.5h1l.5-1.5 1 1.5h1.5l1.5 3-1 1.5h-2v3l-1 1v5.5h-2v-5H7v5H5v-5.5l-1.5-1.5v-3L2 11z' }]],
  // The trefoil.
  radiation: [['circle', { cx: 12, cy: 12, r: 2 }],
    ['path', { d: 'M10.4 9.23 7 3.34A10 10 0 0 1 17 3.34L13.6 9.23A3.2 3.2 0 0 0 10.4 9.23zM15.2 12H22A10 10 0 0 1 17 20.66L13.6 14.77A3.2 3.2 0 0 0 15.2 12zM10.4 14.77 7 20.66A10 10 0 0 1 2 12H8.8A3.2 3.2 0 0 0 10.4 14.77z' }]],
  // No entry.
  blocked_access: [['path', { d: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM6 10h12v4H6z' }]],
  // Anything else: a warning triangle.
  alert: [['path', { d: 'M12 2 1 21h22zm-1 7h2v6h-2zm0 8h2v2h-2z' }]],
};

export const DRAWN = Object.keys(DRAWINGS).filter((k) => k !== 'alert');

// A decorative icon for a hazard type (the warning triangle for one without a drawing).
export function hazardIcon(type) {
  const kind = DRAWINGS[type] ? type : 'alert';
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${kind}`);
  svg.dataset.icon = kind;
  for (const [tag, attrs] of DRAWINGS[kind]) {
    const el = document.createElementNS(SVG, tag);
    if (!('fill' in attrs)) el.setAttribute('fill-rule', 'evenodd');
    // A custom property works in style, not in a presentation attribute.
    for (const [k, v] of Object.entries(attrs)) {
      if (String(v).startsWith('var(')) el.style.setProperty(k, v); else el.setAttribute(k, String(v));
    }
    svg.append(el);
  }
  return svg;
}
