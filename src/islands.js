(async (js, wasm) => {
	const mod = await import(js);
	await mod.default({ module_or_path: wasm });
	mod.hydrate();
	const childrenCallbacks = [];
	async function visit(node) {
		if (node.nodeType !== Node.ELEMENT_NODE) return;
		const tag = node.tagName.toLowerCase();
		if (tag === "leptos-island") {
			const island = mod[node.dataset.component];
			if (island) {
				const onChildren = childrenCallbacks[childrenCallbacks.length - 1];
				if (onChildren) onChildren();
				await island(node);
			} else {
				console.warn(`No wasm function for the island ${node.dataset.component}.`);
			}
		} else if (tag === "leptos-children") {
			childrenCallbacks.push(node.$$on_hydrate);
			for (const child of node.children) await visit(child);
			childrenCallbacks.pop();
			return;
		}
		for (const child of node.children) await visit(child);
	}
	await visit(document.body);
	document.body.dataset.hydrated = "true";
})
